#pragma once
// MetadataStore: the interface every service keeps its metadata behind. It is deliberately small —
// addressed documents, ordered listing, a due-time index and atomic multi-document commits with
// preconditions — so that an embedded SQLite file and a PostgreSQL cluster can both implement it
// exactly. The store knows nothing of what a document means; services own the body encoding.
//
// Thread-safety: implementations are safe for concurrent use from any thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hangar::store {

// One record. Addressed by (collection, partition, id); a partition lists in binary order of id.
struct Document {
  std::string collection;
  std::string partition;
  std::string id;
  std::string body;
  // Set by the store on every write: the next number of a store-wide sequence, so it grows with
  // each update and is never reused, not even by a document deleted and created again.
  int64_t revision = 0;
  int64_t due_at_ms = 0;  // 0: none; otherwise ListDue returns it once that time has come
};

enum class Precondition {
  kNone,          // upsert / delete whether present or not
  kMustNotExist,  // create
  kMustExist,
  kRevisionIs,  // optimistic concurrency: expected_revision must be the stored revision
};

struct Mutation {
  // kCheck writes nothing: it only makes the commit depend on its precondition.
  enum class Kind { kPut, kDelete, kCheck };
  Kind kind = Kind::kPut;
  Document doc;  // for kDelete only the address is used
  Precondition precondition = Precondition::kNone;
  int64_t expected_revision = 0;

  static Mutation Create(Document doc);
  static Mutation Upsert(Document doc);
  static Mutation Update(Document doc, int64_t expected_revision);
  static Mutation Delete(std::string collection, std::string partition, std::string id);
  static Mutation DeleteIfRevision(std::string collection, std::string partition, std::string id,
                                   int64_t expected_revision);
  static Mutation RequireRevision(std::string collection, std::string partition, std::string id,
                                  int64_t expected_revision);
};

struct ListOptions {
  std::string prefix;       // only ids starting with this
  std::string start_after;  // only ids strictly greater (binary order)
  size_t limit = 1000;
};

// Whether `m`'s precondition holds for a document whose stored revision is `current_revision`
// (0: absent). Every store checks preconditions with it.
bool PreconditionHolds(const Mutation& m, int64_t current_revision);

// The smallest string greater than every string starting with `prefix`, or "" if none exists:
// the exclusive upper bound of a prefix listing, in both stores.
std::string PrefixSuccessor(std::string prefix);

// Held for as long as it lives: see MetadataStore::LockWork.
class WorkLock {
 public:
  virtual ~WorkLock() = default;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  virtual Result<std::optional<Document>> Get(std::string_view collection,
                                              std::string_view partition,
                                              std::string_view id) = 0;

  // Documents of one partition in ascending binary order of id.
  virtual Result<std::vector<Document>> List(std::string_view collection,
                                             std::string_view partition,
                                             const ListOptions& options) = 0;

  // Documents of a collection whose due time is set and <= `now_ms`, earliest first.
  virtual Result<std::vector<Document>> ListDue(std::string_view collection, int64_t now_ms,
                                                size_t limit) = 0;

  // Applies every mutation atomically and durably (on return it survives a crash), or none.
  // Returns the new revision of each mutation's document (0 for deletes).
  // Errors: kConflict when a precondition fails; kInternal on storage failure.
  virtual Result<std::vector<int64_t>> Commit(const std::vector<Mutation>& mutations) = 0;

  // Makes sure data deleted so far no longer lingers in the store's files (WAL, free pages).
  virtual Status Scrub() = 0;

  // A number that moves whenever a commit, from any process sharing the store, writes a document
  // that processes cache (all but the collections a store was told are uncached). A cluster node
  // reads it before each request and drops its caches when it moved: a change that returned on
  // one node is then obeyed by the next request on every other. The embedded store has one
  // process, whose caches follow its own writes: always 0.
  virtual Result<int64_t> ChangeEpoch() { return int64_t{0}; }

  // Copying a whole store (hangar admin migrate). Scan: every document of every collection in
  // ascending binary order of (collection, partition, id), at most `limit`, after the address of
  // `after` (nullptr: from the first). Import: writes `docs` exactly as given, revisions and due
  // times included, replacing documents at their addresses, in one transaction; the store's
  // revisions then continue above the largest imported. Revisions must be kept because services
  // keep them in documents (an upload remembers the revision of the object it may replace).
  virtual Result<std::vector<Document>> Scan(const Document* after, size_t limit) {
    (void)after;
    (void)limit;
    return Unsupported("Scan");
  }
  virtual Status Import(const std::vector<Document>& docs) {
    (void)docs;
    return Unsupported("Import");
  }

  // Background work (key destruction, rotation, lifecycle, garbage collection) must be done once
  // however many processes share the store: each run holds the lock named `name`, which only one
  // process at a time can hold, and re-reads what is due under it. Returns the held lock, or
  // nullptr when `wait` is false and another process holds it. A holder that dies loses it.
  // The embedded store has one process, whose runner is one thread: a lock that is always free.
  virtual Result<std::unique_ptr<WorkLock>> LockWork(std::string_view name, bool wait) {
    (void)name;
    (void)wait;
    return std::make_unique<WorkLock>();
  }

 private:
  static Status Unsupported(std::string_view what) {
    return InternalError(std::string(what) + " is not supported by this metadata store");
  }
};

}  // namespace hangar::store
