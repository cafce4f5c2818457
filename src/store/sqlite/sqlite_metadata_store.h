#pragma once
// SqliteMetadataStore: the embedded MetadataStore — one SQLite database file in WAL mode with
// synchronous=FULL (a committed transaction survives power loss) and secure_delete (erased rows do
// not linger in free pages). Writes go through one connection; concurrent commits are batched into
// one transaction and one WAL sync (group commit), each still atomic and isolated on its own. Reads
// use a pool of connections so they never wait for a writer.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "store/metadata_store.h"

struct sqlite3;

namespace hangar::store {

class SqliteMetadataStore final : public MetadataStore {
 public:
  // Opens (creating if needed) the database at `path`.
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(const std::string& path);
  ~SqliteMetadataStore() override;

  Result<std::optional<Document>> Get(std::string_view collection, std::string_view partition,
                                      std::string_view id) override;
  Result<std::vector<Document>> List(std::string_view collection, std::string_view partition,
                                     const ListOptions& options) override;
  Result<std::vector<Document>> ListDue(std::string_view collection, int64_t now_ms,
                                        size_t limit) override;
  Result<std::vector<int64_t>> Commit(const std::vector<Mutation>& mutations) override;
  Status Scrub() override;
  Result<std::vector<Document>> Scan(const Document* after, size_t limit) override;
  Status Import(const std::vector<Document>& docs) override;

  // Write transactions run so far: fewer than commits when group commit batched them.
  uint64_t transactions() const;
  // Commits waiting for the next batch.
  size_t queued() const;
  // Tests: runs in the leader before each batch (to hold a batch while others queue).
  void SetBeforeBatchForTest(std::function<void()> hook) { before_batch_for_test_ = std::move(hook); }

 private:
  class Connection;
  struct PendingCommit {
    const std::vector<Mutation>* mutations;
    Result<std::vector<int64_t>> result;
    // Under queue_mu_: woken once its batch committed (or it is to lead the next one).
    bool woken = false;
    bool leads = false;
    std::condition_variable wake;
  };
  explicit SqliteMetadataStore(std::string path);

  Result<std::unique_ptr<Connection>> OpenConnection(int cache_kib);
  // Borrows a read connection from the pool (opening one if none is free).
  Result<std::unique_ptr<Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> connection);
  // Runs `batch` in one transaction and sets each caller's result.
  void CommitBatch(const std::vector<PendingCommit*>& batch);
  static Result<std::vector<int64_t>> ApplyMutations(Connection& w,
                                                     const std::vector<Mutation>& mutations,
                                                     int64_t revision);
  static Status WriteRevision(Connection& w, int64_t revision);

  const std::string path_;
  std::function<void()> before_batch_for_test_;
  mutable std::mutex queue_mu_;
  std::vector<PendingCommit*> queued_;  // protected by queue_mu_
  bool batch_running_ = false;          // protected by queue_mu_
  mutable std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;  // protected by write_mu_
  uint64_t transactions_ = 0;           // protected by write_mu_
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;  // protected by pool_mu_
};

}  // namespace hangar::store
