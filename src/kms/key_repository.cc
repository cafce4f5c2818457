#include "kms/key_repository.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <mutex>

namespace hangar::kms {
namespace {

constexpr std::string_view kKeys = "kms.key";
constexpr std::string_view kListing = "kms.listing";
constexpr std::string_view kMaterials = "kms.material";
constexpr std::string_view kAliases = "kms.alias";

std::string VersionId(uint32_t version) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%010u", version);
  return buf;
}

std::string MaterialContext(std::string_view key_id, uint32_t version) {
  return "kms-material/" + std::string(key_id) + "/" + std::to_string(version);
}

store::Document KeyDocument(const KeyRecord& key) {
  return store::Document{std::string(kKeys), "", key.key_id, EncodeKeyRecord(key), 0,
                         key.NextDueMs()};
}

std::string EncodeAlias(const Alias& a) {
  return nlohmann::json{{"target_key_id", a.target_key_id},
                        {"created_ms", a.created_ms},
                        {"updated_ms", a.updated_ms}}
      .dump();
}

Result<Alias> DecodeAlias(const store::Document& doc) {
  try {
    auto j = nlohmann::json::parse(doc.body);
    return Alias{doc.id, j.at("target_key_id").get<std::string>(),
                 j.at("created_ms").get<int64_t>(), j.at("updated_ms").get<int64_t>()};
  } catch (const nlohmann::json::exception& e) {
    return InternalError(std::string("stored alias is corrupt: ") + e.what());
  }
}

// An asymmetric key's private key, parsed from its (only) material; null for other keys.
Result<std::shared_ptr<const crypto::AsymmetricKey>> ParsePrivateKey(const KeyRecord& record,
                                                                     const MaterialSet& materials) {
  if (record.public_key.empty() || record.destroyed || materials.empty()) {
    return std::shared_ptr<const crypto::AsymmetricKey>();
  }
  return crypto::AsymmetricKey::FromPrivateDer(materials.begin()->second);
}

}  // namespace

const SecretBytes* LoadedKey::Material(uint32_t version) const {
  if (!materials) return nullptr;
  auto it = materials->find(version);
  return it == materials->end() ? nullptr : &it->second;
}

KeyRepository::KeyRepository(store::MetadataStore& store, const crypto::RootKey& root_key)
    : store_(store), root_key_(root_key), grants_(store) {}

std::string KeyRepository::Partition(std::string_view account, std::string_view region) {
  std::string p(account);
  p += '/';
  p += region;
  return p;
}

Result<std::string> KeyRepository::WrapMaterial(const std::string& key_id, uint32_t version,
                                                const SecretBytes& material) const {
  return root_key_.Wrap(material.span(), MaterialContext(key_id, version));
}

Result<std::shared_ptr<const LoadedKey>> KeyRepository::Find(std::string_view key_id) {
  {
    std::shared_lock lock(mu_);
    auto it = keys_.find(std::string(key_id));
    if (it != keys_.end()) return it->second;
  }
  return Load(key_id);
}

Result<std::shared_ptr<const LoadedKey>> KeyRepository::Load(std::string_view key_id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kKeys, "", key_id));
  if (!doc) return std::shared_ptr<const LoadedKey>();
  HANGAR_ASSIGN_OR_RETURN(KeyRecord record, DecodeKeyRecord(doc->body));
  auto materials = std::make_shared<MaterialSet>();
  if (!record.destroyed) {
    HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kMaterials, key_id, {"", "", 100000}));
    for (const auto& m : docs) {
      uint32_t version = static_cast<uint32_t>(std::stoul(m.id));
      auto plain = root_key_.Unwrap(m.body, MaterialContext(key_id, version));
      if (!plain.ok()) {
        return InternalError("key material of " + std::string(key_id) +
                             " does not unwrap under the root key");
      }
      materials->emplace(version, std::move(plain).value());
    }
  }
  auto loaded = std::make_shared<LoadedKey>();
  HANGAR_ASSIGN_OR_RETURN(loaded->private_key, ParsePrivateKey(record, *materials));
  loaded->record = std::move(record);
  loaded->revision = doc->revision;
  loaded->materials = std::move(materials);
  Cache(loaded);
  return std::shared_ptr<const LoadedKey>(std::move(loaded));
}

Status KeyRepository::Forget(const std::string& key_id, Status failure) {
  std::unique_lock lock(mu_);
  keys_.erase(key_id);  // a failed commit may have raced another writer: reload on next use
  return failure;
}

void KeyRepository::Cache(std::shared_ptr<const LoadedKey> key) {
  std::unique_lock lock(mu_);
  auto& slot = keys_[key->record.key_id];
  // Never replace a newer snapshot with an older one loaded concurrently.
  if (!slot || slot->revision <= key->revision) slot = std::move(key);
}

Status KeyRepository::Create(const KeyRecord& key, const SecretBytes* material,
                             const std::optional<Alias>& alias) {
  std::vector<store::Mutation> m;
  // The alias (an AWS managed key's alias/aws/<service>) commits with the key: never one alone.
  if (alias) {
    m.push_back(store::Mutation::Upsert({std::string(kAliases),
                                         Partition(key.account_id, key.region), alias->name,
                                         EncodeAlias(*alias), 0, 0}));
  }
  m.push_back(store::Mutation::Create(KeyDocument(key)));
  m.push_back(store::Mutation::Create(
      {std::string(kListing), Partition(key.account_id, key.region), key.key_id, "", 0, 0}));
  auto materials = std::make_shared<MaterialSet>();
  if (material != nullptr) {
    const uint32_t version = key.current().version;
    HANGAR_ASSIGN_OR_RETURN(std::string wrapped, WrapMaterial(key.key_id, version, *material));
    m.push_back(store::Mutation::Create(
        {std::string(kMaterials), key.key_id, VersionId(version), std::move(wrapped), 0, 0}));
    materials->emplace(version, material->Clone());
  }
  HANGAR_ASSIGN_OR_RETURN(auto revisions, store_.Commit(m));
  HANGAR_ASSIGN_OR_RETURN(auto private_key, ParsePrivateKey(key, *materials));
  Cache(std::make_shared<LoadedKey>(
      LoadedKey{key, revisions[alias ? 1 : 0], std::move(materials), std::move(private_key)}));
  if (alias) {
    std::unique_lock lock(mu_);
    aliases_.erase(Partition(key.account_id, key.region) + "/" + alias->name);
    ++alias_generation_;
  }
  return Status::Ok();
}

Status KeyRepository::Update(const KeyRecord& key, int64_t expected_revision) {
  HANGAR_ASSIGN_OR_RETURN(auto current, Find(key.key_id));
  auto revisions = store_.Commit({store::Mutation::Update(KeyDocument(key), expected_revision)});
  if (!revisions.ok()) return Forget(key.key_id, revisions.status());
  Cache(std::make_shared<LoadedKey>(LoadedKey{key, (*revisions)[0],
                                              current ? current->materials : nullptr,
                                              current ? current->private_key : nullptr}));
  return Status::Ok();
}

Status KeyRepository::AddVersion(const KeyRecord& key, int64_t expected_revision,
                                 const SecretBytes& material) {
  HANGAR_ASSIGN_OR_RETURN(auto current, Find(key.key_id));
  const uint32_t version = key.current().version;
  HANGAR_ASSIGN_OR_RETURN(std::string wrapped, WrapMaterial(key.key_id, version, material));
  auto revisions = store_.Commit(
      {store::Mutation::Update(KeyDocument(key), expected_revision),
       store::Mutation::Create(
           {std::string(kMaterials), key.key_id, VersionId(version), std::move(wrapped), 0, 0})});
  if (!revisions.ok()) return Forget(key.key_id, revisions.status());
  auto materials = std::make_shared<MaterialSet>();
  if (current && current->materials) {
    for (const auto& [v, secret] : *current->materials) materials->emplace(v, secret.Clone());
  }
  materials->emplace(version, material.Clone());
  Cache(std::make_shared<LoadedKey>(LoadedKey{key, (*revisions)[0], std::move(materials)}));
  return Status::Ok();
}

Status KeyRepository::PutMaterial(const KeyRecord& key, int64_t expected_revision,
                                  const SecretBytes& material) {
  const uint32_t version = key.current().version;
  HANGAR_ASSIGN_OR_RETURN(std::string wrapped, WrapMaterial(key.key_id, version, material));
  auto revisions = store_.Commit(
      {store::Mutation::Update(KeyDocument(key), expected_revision),
       store::Mutation::Upsert(
           {std::string(kMaterials), key.key_id, VersionId(version), std::move(wrapped), 0, 0})});
  if (!revisions.ok()) return Forget(key.key_id, revisions.status());
  auto materials = std::make_shared<MaterialSet>();
  materials->emplace(version, material.Clone());
  HANGAR_ASSIGN_OR_RETURN(auto private_key, ParsePrivateKey(key, *materials));
  Cache(std::make_shared<LoadedKey>(
      LoadedKey{key, (*revisions)[0], std::move(materials), std::move(private_key)}));
  return Status::Ok();
}

Status KeyRepository::DeleteMaterials(const KeyRecord& key, int64_t expected_revision) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kMaterials, key.key_id, {"", "", 100000}));
  std::vector<store::Mutation> m = {store::Mutation::Update(KeyDocument(key), expected_revision)};
  for (const auto& d : docs) m.push_back(store::Mutation::Delete(std::string(kMaterials), key.key_id, d.id));
  auto revisions = store_.Commit(m);
  if (!revisions.ok()) return Forget(key.key_id, revisions.status());
  Cache(std::make_shared<LoadedKey>(
      LoadedKey{key, (*revisions)[0], std::make_shared<MaterialSet>(), nullptr}));
  return store_.Scrub();
}

Result<std::string> KeyRepository::SealToken(std::span<const uint8_t> plaintext,
                                             std::string_view context) const {
  return root_key_.Wrap(plaintext, context);
}

Result<SecretBytes> KeyRepository::OpenToken(std::string_view token,
                                             std::string_view context) const {
  return root_key_.Unwrap(token, context);
}

Status KeyRepository::Destroy(const KeyRecord& key, int64_t expected_revision) {
  KeyRecord tombstone;
  tombstone.key_id = key.key_id;
  tombstone.account_id = key.account_id;
  tombstone.region = key.region;
  tombstone.arn = key.arn;
  tombstone.creation_ms = key.creation_ms;
  tombstone.key_manager = key.key_manager;
  tombstone.destroyed = true;

  std::vector<store::Mutation> m;
  m.push_back(store::Mutation::Update(KeyDocument(tombstone), expected_revision));
  m.push_back(store::Mutation::Delete(std::string(kListing), Partition(key.account_id, key.region),
                                      key.key_id));
  for (const auto& v : key.versions) {
    m.push_back(store::Mutation::Delete(std::string(kMaterials), key.key_id, VersionId(v.version)));
  }
  // At deletion KMS also removes every alias that points at the key.
  std::string partition = Partition(key.account_id, key.region);
  std::vector<std::string> removed_aliases;
  std::string after;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kAliases, partition, {"", after, 1000}));
    for (const auto& d : docs) {
      HANGAR_ASSIGN_OR_RETURN(Alias a, DecodeAlias(d));
      if (a.target_key_id == key.key_id) {
        m.push_back(store::Mutation::DeleteIfRevision(std::string(kAliases), partition, d.id,
                                                      d.revision));
        removed_aliases.push_back(d.id);
      }
    }
    if (docs.size() < 1000) break;
    after = docs.back().id;
  }
  // Its grants go with it: a key id is never reused, but ListRetirableGrants must not show them.
  HANGAR_RETURN_IF_ERROR(grants_.AppendDeleteAll(key.key_id, m));
  HANGAR_ASSIGN_OR_RETURN(auto revisions, store_.Commit(m));
  grants_.Invalidate(key.key_id);
  {
    std::unique_lock lock(mu_);
    for (const auto& name : removed_aliases) aliases_.erase(partition + "/" + name);
    ++alias_generation_;
  }
  Cache(std::make_shared<LoadedKey>(
      LoadedKey{tombstone, revisions[0], std::make_shared<MaterialSet>()}));
  return store_.Scrub();
}

Result<std::vector<std::string>> KeyRepository::ListKeyIds(std::string_view account,
                                                           std::string_view region,
                                                           std::string_view start_after,
                                                           size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(
      auto docs, store_.List(kListing, Partition(account, region), {"", std::string(start_after), limit}));
  std::vector<std::string> ids;
  ids.reserve(docs.size());
  for (auto& d : docs) ids.push_back(std::move(d.id));
  return ids;
}

Result<std::vector<std::string>> KeyRepository::ListAllKeyIds(std::string_view start_after,
                                                              size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kKeys, "", {"", std::string(start_after), limit}));
  std::vector<std::string> ids;
  ids.reserve(docs.size());
  for (auto& d : docs) ids.push_back(std::move(d.id));
  return ids;
}

Result<std::vector<std::string>> KeyRepository::ListDueKeyIds(int64_t now_ms, size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.ListDue(kKeys, now_ms, limit));
  std::vector<std::string> ids;
  for (auto& d : docs) ids.push_back(std::move(d.id));
  return ids;
}

Result<std::optional<Alias>> KeyRepository::FindAlias(std::string_view account,
                                                      std::string_view region,
                                                      std::string_view name) {
  std::string partition = Partition(account, region);
  std::string cache_key = partition + "/" + std::string(name);
  uint64_t generation;
  {
    std::shared_lock lock(mu_);
    auto it = aliases_.find(cache_key);
    if (it != aliases_.end()) return it->second;
    generation = alias_generation_;
  }
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kAliases, partition, name));
  std::optional<Alias> found;
  if (doc) {
    HANGAR_ASSIGN_OR_RETURN(Alias alias, DecodeAlias(*doc));
    found = std::move(alias);
  }
  std::unique_lock lock(mu_);
  if (generation == alias_generation_) aliases_[cache_key] = found;
  return found;
}

Result<std::vector<Alias>> KeyRepository::ListAliases(std::string_view account,
                                                      std::string_view region,
                                                      std::string_view start_after,
                                                      size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kAliases, Partition(account, region),
                                                 {"", std::string(start_after), limit}));
  std::vector<Alias> out;
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(Alias a, DecodeAlias(d));
    out.push_back(std::move(a));
  }
  return out;
}

Status KeyRepository::CreateAlias(std::string_view account, std::string_view region,
                                  const Alias& alias) {
  std::string partition = Partition(account, region);
  HANGAR_ASSIGN_OR_RETURN(
      auto revisions,
      store_.Commit({store::Mutation::Create(
          {std::string(kAliases), partition, alias.name, EncodeAlias(alias), 0, 0})}));
  std::unique_lock lock(mu_);
  aliases_.erase(partition + "/" + alias.name);
  ++alias_generation_;
  return Status::Ok();
}

Status KeyRepository::PutAlias(std::string_view account, std::string_view region,
                               const Alias& alias) {
  std::string partition = Partition(account, region);
  HANGAR_ASSIGN_OR_RETURN(
      auto revisions,
      store_.Commit({store::Mutation::Upsert(
          {std::string(kAliases), partition, alias.name, EncodeAlias(alias), 0, 0})}));
  std::unique_lock lock(mu_);
  aliases_.erase(partition + "/" + alias.name);
  ++alias_generation_;
  return Status::Ok();
}

Status KeyRepository::DeleteAlias(std::string_view account, std::string_view region,
                                  std::string_view name) {
  std::string partition = Partition(account, region);
  HANGAR_ASSIGN_OR_RETURN(auto revisions,
                          store_.Commit({store::Mutation::Delete(std::string(kAliases), partition,
                                                                 std::string(name))}));
  std::unique_lock lock(mu_);
  aliases_.erase(partition + "/" + std::string(name));
  ++alias_generation_;
  return Status::Ok();
}

}  // namespace hangar::kms
