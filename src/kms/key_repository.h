#pragma once
// KeyRepository: where KMS keys, their wrapped key material and aliases live in the metadata store,
// with an in-memory cache so the cryptographic hot path never touches storage.
//
// Documents:
//   kms.key      ""              / <storage id>  the KeyRecord (JSON); due time = next lifecycle event
//   kms.listing  <acct>/<region> / <key id>  empty; lets ListKeys page through one account+region
//   kms.material <key id>        / <version> material wrapped under the root key
// The storage id is the key id, except for a multi-Region replica made by ReplicateKey:
// "<key id>@<region>". The copies of a multi-Region key share one set of material documents;
// the last copy destroyed takes them with it.
//   kms.alias    <acct>/<region> / <alias>   target key id and dates (JSON)
//   kms.grant*   see grant_repository.h; destroying a key removes its grants in the same commit
// Key material is unwrapped only into the cache (SecretBytes) and never written in plaintext.
//
// Thread-safety: all methods may be called concurrently. Writers must serialise conflicting
// read-modify-write sequences themselves (KeyService does); the store's revision checks catch
// anything that slips past (kConflict).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/asymmetric.h"
#include "crypto/root_key.h"
#include "kms/grant_repository.h"
#include "kms/key.h"
#include "store/metadata_store.h"

namespace hangar::kms {

using MaterialSet = std::map<uint32_t, SecretBytes>;

// An immutable snapshot of a key as cached: record, store revision and unwrapped material.
struct LoadedKey {
  KeyRecord record;
  int64_t revision = 0;
  std::shared_ptr<const MaterialSet> materials;  // empty for tombstones
  // Asymmetric keys: the private key parsed once from its material, shared by every operation.
  std::shared_ptr<const crypto::AsymmetricKey> private_key;

  const SecretBytes* Material(uint32_t version) const;
};

// One record of a multi-record commit, with the store revision it must still have.
struct KeyWrite {
  KeyRecord record;
  int64_t expected_revision = 0;
};

struct Alias {
  std::string name;  // alias/...
  std::string target_key_id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

class KeyRepository {
 public:
  KeyRepository(store::MetadataStore& store, const crypto::RootKey& root_key);

  // The key with this id as seen in `region` (tombstones included), or nullptr if it never
  // existed. For a multi-Region key, the copy in `region` if there is one, else any copy: callers
  // compare the record's region with the one they asked for.
  Result<std::shared_ptr<const LoadedKey>> Find(std::string_view key_id, std::string_view region);
  // The record stored under `storage_id` (as listed by ListDueKeyIds and ListAllKeyIds).
  Result<std::shared_ptr<const LoadedKey>> FindStored(std::string_view storage_id);

  // Stores a new key with its first material version (record.versions must hold exactly it), or
  // with no material (`material` null: a key of origin EXTERNAL before its import).
  Status Create(const KeyRecord& key, const SecretBytes* material,
                const std::optional<Alias>& alias = std::nullopt);
  // Stores a multi-Region replica (record.storage_id set) sharing `source`'s material, and the
  // other copies' records (their replica lists), in one commit. A tombstone of an earlier replica
  // in that region is replaced. Errors: kConflict.
  Status CreateReplica(const KeyRecord& replica, const LoadedKey& source,
                       std::span<const KeyWrite> copies);
  // Replaces the record. Errors: kConflict if the stored revision is not `expected_revision`.
  Status Update(const KeyRecord& key, int64_t expected_revision);
  // Replaces several records (the copies of a multi-Region key) in one commit.
  Status Update(std::span<const KeyWrite> writes);
  // Replaces the records of every copy of a key (one for a single-Region key) and adds the
  // material of their newest version, shared by all.
  Status AddVersion(std::span<const KeyWrite> copies, const SecretBytes& material);
  // Replaces the record and stores `material` as its current version (ImportKeyMaterial).
  Status PutMaterial(const KeyRecord& key, int64_t expected_revision, const SecretBytes& material);
  // Replaces the record and deletes every material version, then scrubs the store so nothing that
  // decrypts the key's data remains in files (DeleteImportedKeyMaterial, expiry).
  Status DeleteMaterials(const KeyRecord& key, int64_t expected_revision);
  // Seals and opens the opaque import tokens of GetParametersForImport under the root key, bound
  // to `context`. Errors: kInternal if the root key fails (SealToken), or for a token not sealed
  // under this key and context (OpenToken).
  Result<std::string> SealToken(std::span<const uint8_t> plaintext,
                                std::string_view context) const;
  Result<SecretBytes> OpenToken(std::string_view token, std::string_view context) const;
  // Destroys the key's aliases and grants and leaves a tombstone record, then scrubs the store so
  // nothing that decrypts its data remains in files. Its material goes too unless other copies of
  // a multi-Region key remain: `copies` are their updated records, committed with it.
  Status Destroy(const KeyRecord& key, int64_t expected_revision,
                 std::span<const KeyWrite> copies = {});

  Result<std::vector<std::string>> ListKeyIds(std::string_view account, std::string_view region,
                                              std::string_view start_after, size_t limit);
  // Keys whose next lifecycle event (deletion, rotation) is due.
  Result<std::vector<std::string>> ListDueKeyIds(int64_t now_ms, size_t limit);
  // Every key's id, of every account and region, in id order, from after `start_after`.
  Result<std::vector<std::string>> ListAllKeyIds(std::string_view start_after, size_t limit);

  Result<std::optional<Alias>> FindAlias(std::string_view account, std::string_view region,
                                         std::string_view name);
  Result<std::vector<Alias>> ListAliases(std::string_view account, std::string_view region,
                                         std::string_view start_after, size_t limit);
  // Errors: kConflict if it already exists.
  Status CreateAlias(std::string_view account, std::string_view region, const Alias& alias);
  Status PutAlias(std::string_view account, std::string_view region, const Alias& alias);
  Status DeleteAlias(std::string_view account, std::string_view region, std::string_view name);

  GrantRepository& grants() { return grants_; }

  // Drops every cached key, alias and grant list (cluster mode: another node changed some). A
  // load that raced with it does not cache what it read.
  void InvalidateAll();

 private:
  Result<std::shared_ptr<const LoadedKey>> Load(std::string_view storage_id);
  // Caches `key`, unless it was loaded before an InvalidateAll (`generation`, if given, is
  // key_generation_ from before the load).
  void Cache(std::shared_ptr<const LoadedKey> key, std::optional<uint64_t> generation = {});
  // Caches `record` at `revision` with the material and private key cached for it before.
  Result<std::shared_ptr<const LoadedKey>> Recache(const KeyRecord& record, int64_t revision);
  // Drops the cached records after a failed commit and returns `failure`.
  Status Forget(std::span<const KeyWrite> writes, Status failure);
  Result<std::string> WrapMaterial(const std::string& key_id, uint32_t version,
                                   const SecretBytes& material) const;
  static std::string Partition(std::string_view account, std::string_view region);

  store::MetadataStore& store_;
  const crypto::RootKey& root_key_;
  GrantRepository grants_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const LoadedKey>> keys_;  // by storage id; mu_
  // "<acct>/<region>/<alias>" -> the alias, or nullopt when known absent. Protected by mu_.
  std::unordered_map<std::string, std::optional<Alias>> aliases_;
  // Bumped by every alias mutation, so a lookup racing with one does not cache a stale answer.
  uint64_t alias_generation_ = 0;  // protected by mu_
  // Bumped by InvalidateAll, so a load racing with it does not cache a stale key.
  uint64_t key_generation_ = 0;  // protected by mu_
};

}  // namespace hangar::kms
