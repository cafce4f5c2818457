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
  return store::Document{std::string(kKeys), "", key.stored_as(), EncodeKeyRecord(key), 0,
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

Result<std::shared_ptr<const LoadedKey>> KeyRepository::Find(std::string_view key_id,
                                                             std::string_view region) {
  HANGAR_ASSIGN_OR_RETURN(auto key, FindStored(key_id));
  if (!key_id.starts_with("mrk-")) return key;
  // A multi-Region key's first copy is stored under its id; a replica under id@region. A live
  // first copy in `region` answers without a second lookup (the crypto hot path).
  if (key && key->record.region == region && !key->record.destroyed) return key;
  HANGAR_ASSIGN_OR_RETURN(auto replica, FindStored(ReplicaStorageId(key_id, region)));
  return replica ? replica : key;
}

Result<std::shared_ptr<const LoadedKey>> KeyRepository::FindStored(std::string_view storage_id) {
  {
    std::shared_lock lock(mu_);
    auto it = keys_.find(std::string(storage_id));
    if (it != keys_.end()) return it->second;
  }
  return Load(storage_id);
}

Result<std::shared_ptr<const LoadedKey>> KeyRepository::Load(std::string_view storage_id) {
  uint64_t generation;
  {
    std::shared_lock lock(mu_);
    generation = key_generation_;
  }
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kKeys, "", storage_id));
  if (!doc) return std::shared_ptr<const LoadedKey>();
  HANGAR_ASSIGN_OR_RETURN(KeyRecord record, DecodeKeyRecord(doc->body));
  if (storage_id != record.key_id) record.storage_id = std::string(storage_id);
  auto materials = std::make_shared<MaterialSet>();
  if (!record.destroyed) {
    const std::string& key_id = record.key_id;
    HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kMaterials, key_id, {"", "", 100000}));
    for (const auto& m : docs) {
      uint32_t version = static_cast<uint32_t>(std::stoul(m.id));
      auto plain = root_key_.Unwrap(m.body, MaterialContext(key_id, version));
      if (!plain.ok()) {
        return InternalError("key material of " + key_id + " does not unwrap under the root key");
      }
      materials->emplace(version, std::move(plain).value());
    }
  }
  auto loaded = std::make_shared<LoadedKey>();
  HANGAR_ASSIGN_OR_RETURN(loaded->private_key, ParsePrivateKey(record, *materials));
  loaded->record = std::move(record);
  loaded->revision = doc->revision;
  loaded->materials = std::move(materials);
  Cache(loaded, generation);
  return std::shared_ptr<const LoadedKey>(std::move(loaded));
}

void KeyRepository::InvalidateAll() {
  {
    std::unique_lock lock(mu_);
    keys_.clear();
    aliases_.clear();
    ++alias_generation_;
    ++key_generation_;
  }
  grants_.InvalidateAll();
}

Status KeyRepository::Forget(std::span<const KeyWrite> writes, Status failure) {
  std::unique_lock lock(mu_);
  // A failed commit may have raced another writer: reload on next use.
  for (const auto& w : writes) keys_.erase(w.record.stored_as());
  return failure;
}

void KeyRepository::Cache(std::shared_ptr<const LoadedKey> key,
                          std::optional<uint64_t> generation) {
  std::unique_lock lock(mu_);
  if (generation && *generation != key_generation_) return;
  auto& slot = keys_[key->record.stored_as()];
  // Never replace a newer snapshot with an older one loaded concurrently.
  if (!slot || slot->revision <= key->revision) slot = std::move(key);
}

Result<std::shared_ptr<const LoadedKey>> KeyRepository::Recache(const KeyRecord& record,
                                                                int64_t revision) {
  HANGAR_ASSIGN_OR_RETURN(auto current, FindStored(record.stored_as()));
  auto loaded = std::make_shared<LoadedKey>(
      LoadedKey{record, revision, current ? current->materials : nullptr,
                current ? current->private_key : nullptr});
  Cache(loaded);
  return std::shared_ptr<const LoadedKey>(std::move(loaded));
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

Status KeyRepository::CreateReplica(const KeyRecord& replica, const LoadedKey& source,
                                    std::span<const KeyWrite> copies) {
  HANGAR_ASSIGN_OR_RETURN(auto earlier, store_.Get(kKeys, "", replica.stored_as()));
  std::vector<store::Mutation> m;
  m.push_back(earlier ? store::Mutation::Update(KeyDocument(replica), earlier->revision)
                      : store::Mutation::Create(KeyDocument(replica)));
  m.push_back(store::Mutation::Create({std::string(kListing),
                                       Partition(replica.account_id, replica.region),
                                       replica.key_id, "", 0, 0}));
  for (const auto& c : copies) {
    m.push_back(store::Mutation::Update(KeyDocument(c.record), c.expected_revision));
  }
  auto revisions = store_.Commit(m);
  if (!revisions.ok()) return Forget(copies, revisions.status());
  Cache(std::make_shared<LoadedKey>(
      LoadedKey{replica, (*revisions)[0], source.materials, source.private_key}));
  for (size_t i = 0; i < copies.size(); ++i) {
    HANGAR_RETURN_IF_ERROR(Recache(copies[i].record, (*revisions)[2 + i]).status());
  }
  return Status::Ok();
}

Status KeyRepository::Update(const KeyRecord& key, int64_t expected_revision) {
  const KeyWrite write{key, expected_revision};
  return Update(std::span<const KeyWrite>(&write, 1));
}

Status KeyRepository::Update(std::span<const KeyWrite> writes) {
  std::vector<store::Mutation> m;
  for (const auto& w : writes) {
    m.push_back(store::Mutation::Update(KeyDocument(w.record), w.expected_revision));
  }
  auto revisions = store_.Commit(m);
  if (!revisions.ok()) return Forget(writes, revisions.status());
  for (size_t i = 0; i < writes.size(); ++i) {
    HANGAR_RETURN_IF_ERROR(Recache(writes[i].record, (*revisions)[i]).status());
  }
  return Status::Ok();
}

Status KeyRepository::AddVersion(std::span<const KeyWrite> copies, const SecretBytes& material) {
  if (copies.empty()) return InternalError("AddVersion without a key");
  const KeyRecord& first = copies.front().record;
  HANGAR_ASSIGN_OR_RETURN(auto current, FindStored(first.stored_as()));
  const uint32_t version = first.current().version;
  std::vector<store::Mutation> m;
  for (const auto& c : copies) {
    m.push_back(store::Mutation::Update(KeyDocument(c.record), c.expected_revision));
  }
  HANGAR_ASSIGN_OR_RETURN(std::string wrapped, WrapMaterial(first.key_id, version, material));
  m.push_back(store::Mutation::Create(
      {std::string(kMaterials), first.key_id, VersionId(version), std::move(wrapped), 0, 0}));
  auto revisions = store_.Commit(m);
  if (!revisions.ok()) return Forget(copies, revisions.status());
  auto materials = std::make_shared<MaterialSet>();
  if (current && current->materials) {
    for (const auto& [v, secret] : *current->materials) materials->emplace(v, secret.Clone());
  }
  materials->emplace(version, material.Clone());
  std::shared_ptr<const MaterialSet> shared = std::move(materials);
  for (size_t i = 0; i < copies.size(); ++i) {
    Cache(std::make_shared<LoadedKey>(LoadedKey{copies[i].record, (*revisions)[i], shared}));
  }
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
  const KeyWrite write{key, expected_revision};
  if (!revisions.ok()) return Forget(std::span<const KeyWrite>(&write, 1), revisions.status());
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
  const KeyWrite write{key, expected_revision};
  if (!revisions.ok()) return Forget(std::span<const KeyWrite>(&write, 1), revisions.status());
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

Status KeyRepository::Destroy(const KeyRecord& key, int64_t expected_revision,
                              std::span<const KeyWrite> copies) {
  KeyRecord tombstone;
  tombstone.key_id = key.key_id;
  tombstone.account_id = key.account_id;
  tombstone.region = key.region;
  tombstone.arn = key.arn;
  tombstone.creation_ms = key.creation_ms;
  tombstone.key_manager = key.key_manager;
  tombstone.storage_id = key.storage_id;
  tombstone.multi_region = key.multi_region;
  tombstone.destroyed = true;

  std::vector<store::Mutation> m;
  m.push_back(store::Mutation::Update(KeyDocument(tombstone), expected_revision));
  m.push_back(store::Mutation::Delete(std::string(kListing), Partition(key.account_id, key.region),
                                      key.key_id));
  for (const auto& c : copies) {
    m.push_back(store::Mutation::Update(KeyDocument(c.record), c.expected_revision));
  }
  // The copies of a multi-Region key share their material: it goes with the last of them.
  if (copies.empty()) {
    for (const auto& v : key.versions) {
      m.push_back(
          store::Mutation::Delete(std::string(kMaterials), key.key_id, VersionId(v.version)));
    }
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
  HANGAR_RETURN_IF_ERROR(grants_.AppendDeleteAll(key.stored_as(), m));
  auto revisions = store_.Commit(m);
  if (!revisions.ok()) return Forget(copies, revisions.status());
  grants_.Invalidate(key.stored_as());
  {
    std::unique_lock lock(mu_);
    for (const auto& name : removed_aliases) aliases_.erase(partition + "/" + name);
    ++alias_generation_;
  }
  Cache(std::make_shared<LoadedKey>(
      LoadedKey{tombstone, (*revisions)[0], std::make_shared<MaterialSet>()}));
  for (size_t i = 0; i < copies.size(); ++i) {
    HANGAR_RETURN_IF_ERROR(Recache(copies[i].record, (*revisions)[2 + i]).status());
  }
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
