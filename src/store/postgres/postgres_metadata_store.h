#pragma once
// PostgresMetadataStore: the MetadataStore of cluster mode — every node keeps its metadata in one
// PostgreSQL database (libpq), so that any node sees every other node's commits. Documents live in
// one table of a schema of their own; a commit is one READ COMMITTED transaction that first locks
// the address of every document it touches (a transaction-scoped advisory lock per address, taken
// in one global order), then reads, checks the preconditions and writes. The store-wide revision
// comes from a sequence only once those locks are held, so a later writer of a document always
// gets a larger one (docs/cluster.md, "Metadata on PostgreSQL").
//
// Ownership and threads: the store owns a pool of connections, opened as concurrent calls need
// them, at most PostgresOptions::pool_size; each serves one call at a time. Safe for concurrent
// use from any thread, and from any number of nodes on the same database.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/metadata_store.h"

namespace hangar::store {

struct PostgresOptions {
  // The schema that holds Hangar's tables, created if missing: letters, digits and '_', at most
  // 63 characters. Stores that share a database but not a schema know nothing of each other.
  std::string schema = "hangar";
  // The most connections this store holds open to the server.
  size_t pool_size = 8;
  // Seconds to wait for the server when opening a connection.
  int connect_timeout_s = 10;
  // Attempts of a commit that loses to a serialization failure or a deadlock before it reports
  // kInternal (each retry waits a little longer, with jitter).
  int max_attempts = 10;
  // Shown in pg_stat_activity: which connections are Hangar's (an application_name in the URI
  // takes precedence).
  std::string application_name = "hangar";
  // Collections no node caches: commits that write only these leave ChangeEpoch alone (and skip
  // its row lock, which every other writing commit takes). Empty: every write moves it.
  std::vector<std::string> uncached_collections;
};

class PostgresMetadataStore final : public MetadataStore {
 public:
  // Connects to the database at `uri` (a libpq connection URI or key=value string, e.g.
  // postgresql://hangar@db.example:5432/hangar), creates the schema and applies the migrations
  // this build knows, once, even when several nodes open the same database at the same time.
  // Errors: kInternal when the server cannot be reached, refuses the login or the migrations, or
  // its schema is newer than this build. Messages name host, port, database and user, never the
  // password.
  static Result<std::unique_ptr<PostgresMetadataStore>> Open(const std::string& uri,
                                                             PostgresOptions options = {});
  ~PostgresMetadataStore() override;

  Result<std::optional<Document>> Get(std::string_view collection, std::string_view partition,
                                      std::string_view id) override;
  Result<std::vector<Document>> List(std::string_view collection, std::string_view partition,
                                     const ListOptions& options) override;
  Result<std::vector<Document>> ListDue(std::string_view collection, int64_t now_ms,
                                        size_t limit) override;
  // Errors: kConflict when a precondition fails; kInternal when the server fails, a commit lost
  // max_attempts times to concurrent ones, or the connection broke after COMMIT was sent (then
  // the commit may or may not have been applied).
  Result<std::vector<int64_t>> Commit(const std::vector<Mutation>& mutations) override;
  // VACUUMs the documents table. PostgreSQL cannot promise more: see the .cc.
  Status Scrub() override;
  // The change_epoch row: one more for every commit that writes a cached collection.
  Result<int64_t> ChangeEpoch() override;
  Result<std::vector<Document>> Scan(const Document* after, size_t limit) override;
  Status Import(const std::vector<Document>& docs) override;
  // A session advisory lock on a connection of its own (see the .cc for how a holder loses it).
  Result<std::unique_ptr<WorkLock>> LockWork(std::string_view name, bool wait) override;

  // The schema versions this build applies (the latest is the one it needs).
  static int LatestSchemaVersion();

 private:
  class Connection;
  class Lease;
  class SessionWorkLock;
  PostgresMetadataStore(std::string conninfo, std::string server, PostgresOptions options);

  // Borrows a connection: an idle one, or a new one while fewer than pool_size are open, or else
  // waits for one to be returned.
  Result<Lease> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  // Closes every idle connection: after one turned out broken, the others (to the same server,
  // likely restarted) probably are as well.
  void DropIdle();
  Result<std::unique_ptr<Connection>> Connect() const;
  Status Migrate(Connection& c);
  // One attempt of a commit inside its open transaction; `lock_keys` as LockKeys makes them.
  Result<std::vector<int64_t>> ApplyCommit(Connection& c, const std::vector<Mutation>& mutations,
                                           const std::string& lock_keys) const;
  // Runs `read` on a pooled connection; once more on a fresh one if the connection broke.
  template <typename T, typename Read>
  Result<T> ReadWithRetry(Read read);

  const std::string conninfo_;  // may hold a password: never in a message
  const std::string server_;    // host:port/database as user, for messages
  const PostgresOptions options_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // protected by pool_mu_
  size_t open_ = 0;  // connections lent out, idle or being opened; protected by pool_mu_
};

}  // namespace hangar::store
