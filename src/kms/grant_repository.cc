#include "kms/grant_repository.h"

#include <mutex>

namespace hangar::kms {
namespace {

constexpr std::string_view kGrants = "kms.grant";
constexpr std::string_view kRetiring = "kms.grant.retiring";
constexpr size_t kPage = 1000;

}  // namespace

GrantRepository::GrantRepository(store::MetadataStore& store) : store_(store) {}

std::string GrantRepository::RetirableId(const GrantRecord& grant) {
  return grant.key_stored_as() + "/" + grant.grant_id;
}

Result<std::shared_ptr<const GrantList>> GrantRepository::ForKey(std::string_view key_id) {
  uint64_t generation;
  {
    std::shared_lock lock(mu_);
    auto it = by_key_.find(std::string(key_id));
    if (it != by_key_.end()) return it->second;
    generation = generation_;
  }
  auto grants = std::make_shared<GrantList>();
  std::string after;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kGrants, key_id, {"", after, kPage}));
    for (const auto& d : docs) {
      HANGAR_ASSIGN_OR_RETURN(GrantRecord g, DecodeGrantRecord(d.body));
      grants->push_back(std::move(g));
    }
    if (docs.size() < kPage) break;
    after = docs.back().id;
  }
  std::shared_ptr<const GrantList> result = std::move(grants);
  std::unique_lock lock(mu_);
  if (generation == generation_) by_key_[std::string(key_id)] = result;
  return result;
}

Status GrantRepository::Create(const GrantRecord& grant) {
  const std::string body = EncodeGrantRecord(grant);
  std::vector<store::Mutation> m;
  m.push_back(
      store::Mutation::Create({std::string(kGrants), grant.key_stored_as(), grant.grant_id, body, 0, 0}));
  if (!grant.retiring_principal.empty()) {
    m.push_back(store::Mutation::Create(
        {std::string(kRetiring), grant.retiring_principal, RetirableId(grant), body, 0, 0}));
  }
  auto committed = store_.Commit(m);
  Invalidate(grant.key_stored_as());
  return committed.status();
}

Status GrantRepository::Delete(const GrantRecord& grant) {
  std::vector<store::Mutation> m;
  m.push_back(store::Mutation::Delete(std::string(kGrants), grant.key_stored_as(), grant.grant_id));
  m.back().precondition = store::Precondition::kMustExist;
  if (!grant.retiring_principal.empty()) {
    m.push_back(store::Mutation::Delete(std::string(kRetiring), grant.retiring_principal,
                                        RetirableId(grant)));
  }
  auto committed = store_.Commit(m);
  Invalidate(grant.key_stored_as());
  return committed.status();
}

Result<std::vector<GrantRecord>> GrantRepository::ListRetirable(std::string_view principal,
                                                                std::string_view start_after,
                                                                size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs,
                          store_.List(kRetiring, principal, {"", std::string(start_after), limit}));
  std::vector<GrantRecord> out;
  out.reserve(docs.size());
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(GrantRecord g, DecodeGrantRecord(d.body));
    out.push_back(std::move(g));
  }
  return out;
}

Status GrantRepository::AppendDeleteAll(std::string_view key_id,
                                        std::vector<store::Mutation>& mutations) {
  Invalidate(key_id);  // read the store, not a cache that could miss a grant
  HANGAR_ASSIGN_OR_RETURN(auto grants, ForKey(key_id));
  for (const auto& g : *grants) {
    mutations.push_back(store::Mutation::Delete(std::string(kGrants), g.key_stored_as(), g.grant_id));
    if (!g.retiring_principal.empty()) {
      mutations.push_back(
          store::Mutation::Delete(std::string(kRetiring), g.retiring_principal, RetirableId(g)));
    }
  }
  return Status::Ok();
}

void GrantRepository::InvalidateAll() {
  std::unique_lock lock(mu_);
  by_key_.clear();
  ++generation_;
}

void GrantRepository::Invalidate(std::string_view key_id) {
  std::unique_lock lock(mu_);
  by_key_.erase(std::string(key_id));
  ++generation_;
}

}  // namespace hangar::kms
