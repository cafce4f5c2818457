#pragma once
// GrantRepository: where KMS grants live in the metadata store, with a per-key in-memory cache.
// The grant check runs on every cryptographic call, so a key's grants are read from the store once
// and then served from memory; a key without grants costs one hash lookup.
//
// Documents (grants never change after creation, so the index may hold a copy):
//   kms.grant          <key storage id>     / <grant id>             the GrantRecord (JSON)
//   kms.grant.retiring <retiring principal> / <key storage id>/<grant id>  the same record, for
//                                                                    ListRetirableGrants
//
// Thread-safety: all methods may be called concurrently. Writers must serialise conflicting
// read-modify-write sequences themselves (KeyService does).

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "kms/grant.h"
#include "store/metadata_store.h"

namespace hangar::kms {

// A key's grants in ascending grant-id order; immutable once published.
using GrantList = std::vector<GrantRecord>;

class GrantRepository {
 public:
  explicit GrantRepository(store::MetadataStore& store);

  // The grants of one key record, by its storage id (KeyRecord::stored_as; empty for a key without
  // any). A multi-Region replica's grants are its own.
  Result<std::shared_ptr<const GrantList>> ForKey(std::string_view key_storage_id);

  // Errors: kConflict if a grant with that id already exists.
  Status Create(const GrantRecord& grant);
  // Removes the grant. Errors: kConflict if it is already gone.
  Status Delete(const GrantRecord& grant);

  // Grants whose retiring principal is `principal`, ordered by "<key id>/<grant id>", starting
  // after `start_after` (such an id, or empty).
  Result<std::vector<GrantRecord>> ListRetirable(std::string_view principal,
                                                 std::string_view start_after, size_t limit);

  // Appends to `mutations` the deletion of every grant of the key (KeyRepository::Destroy commits
  // them with the key's tombstone); call Invalidate once they are committed.
  Status AppendDeleteAll(std::string_view key_id, std::vector<store::Mutation>& mutations);
  void Invalidate(std::string_view key_id);
  // Every key's grants (cluster mode: another node changed some).
  void InvalidateAll();

  static std::string RetirableId(const GrantRecord& grant);

 private:
  store::MetadataStore& store_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const GrantList>> by_key_;  // protected by mu_
  // Bumped by every change, so a load racing with one does not cache a stale list.
  uint64_t generation_ = 0;  // protected by mu_
};

}  // namespace hangar::kms
