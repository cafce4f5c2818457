#pragma once
// SqliteMetadataStore: the embedded MetadataStore — one SQLite database file in WAL mode with
// synchronous=FULL (a committed transaction survives power loss) and secure_delete (erased rows do
// not linger in free pages). Writes go through one connection under a mutex; reads use a pool of
// connections so they never wait for a writer.

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

 private:
  class Connection;
  explicit SqliteMetadataStore(std::string path);

  Result<std::unique_ptr<Connection>> OpenConnection(int cache_kib);
  // Borrows a read connection from the pool (opening one if none is free).
  Result<std::unique_ptr<Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> connection);

  const std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;  // protected by write_mu_
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;  // protected by pool_mu_
};

}  // namespace hangar::store
