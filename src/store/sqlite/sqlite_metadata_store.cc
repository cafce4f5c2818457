#include "store/sqlite/sqlite_metadata_store.h"

#include <sqlite3.h>

#include <algorithm>

namespace hangar::store {
namespace {

// 2: store_meta holds the store-wide revision sequence (revisions are never reused).
constexpr int kSchemaVersion = 2;
constexpr int kWriterCacheKib = 4096;
constexpr int kReaderCacheKib = 1024;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS documents(
  collection TEXT NOT NULL,
  partition  BLOB NOT NULL,
  id         BLOB NOT NULL,
  body       BLOB NOT NULL,
  revision   INTEGER NOT NULL,
  due_at     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(collection, partition, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_due ON documents(collection, due_at) WHERE due_at > 0;
CREATE TABLE IF NOT EXISTS store_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO store_meta(name, value)
  SELECT 'revision', COALESCE(MAX(revision), 0) FROM documents;
)sql";

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

void BindBlob(sqlite3_stmt* s, int index, std::string_view v) {
  // A zero-length blob must still bind as a blob (not NULL): pass a valid pointer.
  static const char kEmpty = 0;
  sqlite3_bind_blob(s, index, v.empty() ? &kEmpty : v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
}
void BindText(sqlite3_stmt* s, int index, std::string_view v) {
  sqlite3_bind_text(s, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
// Binds a document's address to ?1 (collection), ?2 (partition) and ?3 (id).
void BindAddress(sqlite3_stmt* s, const Document& d) {
  BindText(s, 1, d.collection);
  BindBlob(s, 2, d.partition);
  BindBlob(s, 3, d.id);
}

std::string ColumnBytes(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

}  // namespace

// One sqlite3 handle and its prepared statements. Used by one thread at a time.
class SqliteMetadataStore::Connection {
 public:
  ~Connection() {
    statements_.clear();
    if (db_) sqlite3_close_v2(db_);
  }

  // `cache_kib` bounds this connection's page cache: memory must stay flat however many readers
  // the pool grows to.
  Status Open(const std::string& path, int cache_kib) {
    int rc = sqlite3_open_v2(path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) return Failed("cannot open " + path);
    sqlite3_busy_timeout(db_, 10000);
    return Exec(("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
                 "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" +
                 std::to_string(cache_kib) + ";")
                    .c_str());
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : "unknown error";
      sqlite3_free(err);
      return InternalError(std::string("sqlite: ") + message);
    }
    return Status::Ok();
  }

  // Runs a statement without results (BEGIN, SAVEPOINT, COMMIT, ...) from the statement cache:
  // a batch runs several per commit, and parsing them anew each time was a tenth of a small PUT.
  Status Run(const char* sql) {
    HANGAR_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? Status::Ok() : Failed(sql);
  }

  // Cached prepared statement for `sql` (a string literal), reset and with bindings cleared.
  Result<sqlite3_stmt*> Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      sqlite3_reset(it->second.get());
      sqlite3_clear_bindings(it->second.get());
      return it->second.get();
    }
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      return Failed("prepare");
    }
    statements_.emplace(sql, Stmt(raw));
    return raw;
  }

  Status Failed(const std::string& what) const {
    return InternalError("sqlite " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "no handle"));
  }

  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, Stmt> statements_;
};

SqliteMetadataStore::SqliteMetadataStore(std::string path) : path_(std::move(path)) {}
SqliteMetadataStore::~SqliteMetadataStore() {
  std::scoped_lock lock(write_mu_, pool_mu_);
  readers_.clear();
  if (writer_) {
    // A clean close checkpoints the WAL into the main file.
    writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE);");
    writer_.reset();
  }
}

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path) {
  std::unique_ptr<SqliteMetadataStore> store(new SqliteMetadataStore(path));
  HANGAR_ASSIGN_OR_RETURN(store->writer_, store->OpenConnection(kWriterCacheKib));
  Connection& w = *store->writer_;
  HANGAR_RETURN_IF_ERROR(w.Exec(kSchema));
  HANGAR_ASSIGN_OR_RETURN(sqlite3_stmt * version, w.Prepare("PRAGMA user_version"));
  int current = sqlite3_step(version) == SQLITE_ROW ? sqlite3_column_int(version, 0) : 0;
  sqlite3_reset(version);
  if (current > kSchemaVersion) {
    return InternalError("metadata database " + path + " was written by a newer Hangar (schema " +
                         std::to_string(current) + ")");
  }
  if (current < kSchemaVersion) {
    HANGAR_RETURN_IF_ERROR(
        w.Exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str()));
  }
  return store;
}

Result<std::unique_ptr<SqliteMetadataStore::Connection>> SqliteMetadataStore::OpenConnection(
    int cache_kib) {
  auto c = std::make_unique<Connection>();
  HANGAR_RETURN_IF_ERROR(c->Open(path_, cache_kib));
  return c;
}

Result<std::unique_ptr<SqliteMetadataStore::Connection>> SqliteMetadataStore::AcquireReader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      return c;
    }
  }
  return OpenConnection(kReaderCacheKib);
}

void SqliteMetadataStore::ReleaseReader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(pool_mu_);
  if (readers_.size() < 32) readers_.push_back(std::move(connection));
}

Result<std::optional<Document>> SqliteMetadataStore::Get(std::string_view collection,
                                                         std::string_view partition,
                                                         std::string_view id) {
  HANGAR_ASSIGN_OR_RETURN(auto conn, AcquireReader());
  Result<std::optional<Document>> result = std::optional<Document>();
  {
    auto stmt = conn->Prepare(
        "SELECT body, revision, due_at FROM documents WHERE collection=?1 AND partition=?2 AND "
        "id=?3");
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = *stmt;
    BindText(s, 1, collection);
    BindBlob(s, 2, partition);
    BindBlob(s, 3, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      Document d{std::string(collection), std::string(partition), std::string(id),
                 ColumnBytes(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)};
      result = std::optional<Document>(std::move(d));
    } else if (rc != SQLITE_DONE) {
      result = conn->Failed("get");
    }
    sqlite3_reset(s);
  }
  ReleaseReader(std::move(conn));
  return result;
}

Result<std::vector<Document>> SqliteMetadataStore::List(std::string_view collection,
                                                        std::string_view partition,
                                                        const ListOptions& options) {
  HANGAR_ASSIGN_OR_RETURN(auto conn, AcquireReader());
  // Lower bound: max(prefix, start_after) exclusive-or-inclusive; upper bound: prefix successor.
  std::string lower = options.prefix;
  bool lower_inclusive = true;
  if (options.start_after >= lower) {
    lower = options.start_after;
    lower_inclusive = options.start_after.empty();
  }
  std::string upper = PrefixSuccessor(options.prefix);
  const char* sql =
      upper.empty()
          ? (lower_inclusive
                 ? "SELECT id, body, revision, due_at FROM documents WHERE collection=?1 AND "
                   "partition=?2 AND id>=?3 ORDER BY id LIMIT ?5"
                 : "SELECT id, body, revision, due_at FROM documents WHERE collection=?1 AND "
                   "partition=?2 AND id>?3 ORDER BY id LIMIT ?5")
          : (lower_inclusive
                 ? "SELECT id, body, revision, due_at FROM documents WHERE collection=?1 AND "
                   "partition=?2 AND id>=?3 AND id<?4 ORDER BY id LIMIT ?5"
                 : "SELECT id, body, revision, due_at FROM documents WHERE collection=?1 AND "
                   "partition=?2 AND id>?3 AND id<?4 ORDER BY id LIMIT ?5");
  Result<std::vector<Document>> result = std::vector<Document>();
  {
    auto stmt = conn->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = *stmt;
    BindText(s, 1, collection);
    BindBlob(s, 2, partition);
    BindBlob(s, 3, lower);
    if (!upper.empty()) BindBlob(s, 4, upper);
    sqlite3_bind_int64(s, 5, static_cast<int64_t>(options.limit));
    std::vector<Document> docs;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      docs.push_back(Document{std::string(collection), std::string(partition), ColumnBytes(s, 0),
                              ColumnBytes(s, 1), sqlite3_column_int64(s, 2),
                              sqlite3_column_int64(s, 3)});
    }
    if (rc != SQLITE_DONE) {
      result = conn->Failed("list");
    } else {
      result = std::move(docs);
    }
    sqlite3_reset(s);
  }
  ReleaseReader(std::move(conn));
  return result;
}

Result<std::vector<Document>> SqliteMetadataStore::ListDue(std::string_view collection,
                                                           int64_t now_ms, size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto conn, AcquireReader());
  Result<std::vector<Document>> result = std::vector<Document>();
  {
    auto stmt = conn->Prepare(
        "SELECT partition, id, body, revision, due_at FROM documents WHERE collection=?1 AND "
        "due_at>0 AND due_at<=?2 ORDER BY due_at LIMIT ?3");
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = *stmt;
    BindText(s, 1, collection);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, static_cast<int64_t>(limit));
    std::vector<Document> docs;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      docs.push_back(Document{std::string(collection), ColumnBytes(s, 0), ColumnBytes(s, 1),
                              ColumnBytes(s, 2), sqlite3_column_int64(s, 3),
                              sqlite3_column_int64(s, 4)});
    }
    if (rc != SQLITE_DONE) {
      result = conn->Failed("list due");
    } else {
      result = std::move(docs);
    }
    sqlite3_reset(s);
  }
  ReleaseReader(std::move(conn));
  return result;
}

Result<std::vector<Document>> SqliteMetadataStore::Scan(const Document* after, size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto conn, AcquireReader());
  Result<std::vector<Document>> result = std::vector<Document>();
  {
    auto stmt = conn->Prepare(
        after ? "SELECT collection, partition, id, body, revision, due_at FROM documents WHERE "
                "(collection, partition, id) > (?1, ?2, ?3) ORDER BY collection, partition, id "
                "LIMIT ?4"
              : "SELECT collection, partition, id, body, revision, due_at FROM documents ORDER BY "
                "collection, partition, id LIMIT ?4");
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = *stmt;
    if (after) {
      BindText(s, 1, after->collection);
      BindBlob(s, 2, after->partition);
      BindBlob(s, 3, after->id);
    }
    sqlite3_bind_int64(s, 4, static_cast<int64_t>(limit));
    std::vector<Document> docs;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      docs.push_back(Document{ColumnBytes(s, 0), ColumnBytes(s, 1), ColumnBytes(s, 2),
                              ColumnBytes(s, 3), sqlite3_column_int64(s, 4),
                              sqlite3_column_int64(s, 5)});
    }
    result = rc == SQLITE_DONE ? Result<std::vector<Document>>(std::move(docs))
                               : Result<std::vector<Document>>(conn->Failed("scan"));
    sqlite3_reset(s);
  }
  ReleaseReader(std::move(conn));
  return result;
}

Status SqliteMetadataStore::Import(const std::vector<Document>& docs) {
  std::lock_guard lock(write_mu_);
  Connection& w = *writer_;
  HANGAR_RETURN_IF_ERROR(w.Run("BEGIN IMMEDIATE"));
  auto import = [&]() -> Status {
    int64_t largest = 0;
    for (const Document& d : docs) {
      HANGAR_ASSIGN_OR_RETURN(
          sqlite3_stmt * put,
          w.Prepare("INSERT OR REPLACE INTO documents(collection, partition, id, body, revision, "
                    "due_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
      BindText(put, 1, d.collection);
      BindBlob(put, 2, d.partition);
      BindBlob(put, 3, d.id);
      BindBlob(put, 4, d.body);
      sqlite3_bind_int64(put, 5, d.revision);
      sqlite3_bind_int64(put, 6, d.due_at_ms);
      const int rc = sqlite3_step(put);
      sqlite3_reset(put);
      if (rc != SQLITE_DONE) return w.Failed("import");
      largest = std::max(largest, d.revision);
    }
    HANGAR_ASSIGN_OR_RETURN(
        sqlite3_stmt * bump,
        w.Prepare("UPDATE store_meta SET value=max(value, ?1) WHERE name='revision'"));
    sqlite3_bind_int64(bump, 1, largest);
    const int rc = sqlite3_step(bump);
    sqlite3_reset(bump);
    if (rc != SQLITE_DONE) return w.Failed("write revision sequence");
    return w.Run("COMMIT");
  };
  Status s = import();
  if (!s.ok()) w.Run("ROLLBACK");
  return s;
}

// Group commit: a caller queues its mutations; whoever finds no batch running becomes the leader
// and commits everything queued so far in one transaction, so the whole batch costs one WAL sync.
// Each caller's mutations sit in their own savepoint: a failed precondition undoes that caller's
// writes alone. The others sleep on their own condition variable (no herd of waiters woken per
// batch; libstdc++'s semaphores spin with sched_yield first, which costs more than the wait): the
// leader wakes each member of its batch with its result, and hands the lead to the first caller
// that queued meanwhile.
Result<std::vector<int64_t>> SqliteMetadataStore::Commit(const std::vector<Mutation>& mutations) {
  PendingCommit mine{&mutations, InternalError("metadata commit not run")};
  {
    std::unique_lock lock(queue_mu_);
    queued_.push_back(&mine);
    if (batch_running_) {
      mine.wake.wait(lock, [&] { return mine.woken; });  // done, or handed the lead
      if (!mine.leads) return std::move(mine.result);
    }
    mine.leads = batch_running_ = true;
  }
  std::vector<PendingCommit*> batch;
  {
    std::lock_guard lock(queue_mu_);
    batch.swap(queued_);
  }
  if (before_batch_for_test_) before_batch_for_test_();
  CommitBatch(batch);
  {
    // Notified under the lock: a woken waiter returns, and its PendingCommit is gone, only once
    // this lock is released.
    std::lock_guard lock(queue_mu_);
    for (PendingCommit* pending : batch) {
      if (pending == &mine) continue;
      pending->woken = true;
      pending->wake.notify_one();
    }
    if (queued_.empty()) {
      batch_running_ = false;
    } else {
      PendingCommit* next_leader = queued_.front();
      next_leader->leads = next_leader->woken = true;
      next_leader->wake.notify_one();
    }
  }
  return std::move(mine.result);
}

void SqliteMetadataStore::CommitBatch(const std::vector<PendingCommit*>& batch) {
  std::lock_guard lock(write_mu_);
  Connection& w = *writer_;
  ++transactions_;
  auto fail_all = [&](const Status& s) {
    for (PendingCommit* pending : batch) pending->result = s;
  };
  if (Status begun = w.Run("BEGIN IMMEDIATE"); !begun.ok()) return fail_all(begun);
  // Every write of one caller's commit takes the next number of one store-wide sequence, so a
  // revision is never reused: a document deleted and created again cannot match a revision read
  // before (no ABA for conditional updates). The sequence is read inside the write transaction,
  // so another process writing the same file (hangar admin) keeps it in step.
  auto seq = w.Prepare("SELECT value FROM store_meta WHERE name='revision'");
  if (!seq.ok() || sqlite3_step(*seq) != SQLITE_ROW) {
    Status failed = seq.ok() ? w.Failed("read revision sequence") : seq.status();
    if (seq.ok()) sqlite3_reset(*seq);
    w.Run("ROLLBACK");
    return fail_all(failed);
  }
  int64_t revision = sqlite3_column_int64(*seq, 0);
  sqlite3_reset(*seq);
  const int64_t first_revision = revision;
  for (PendingCommit* pending : batch) {
    if (Status opened = w.Run("SAVEPOINT caller"); !opened.ok()) {
      pending->result = opened;
      continue;
    }
    pending->result = ApplyMutations(w, *pending->mutations, revision + 1);
    if (pending->result.ok()) {
      w.Run("RELEASE caller");
      ++revision;
    } else if (sqlite3_get_autocommit(w.db())) {
      // The error rolled back the whole transaction (disk full, I/O error): nothing of this
      // batch is written.
      return fail_all(pending->result.status());
    } else {
      w.Run("ROLLBACK TO caller");
      w.Run("RELEASE caller");
    }
  }
  Status committed = revision == first_revision ? Status::Ok() : WriteRevision(w, revision);
  if (committed.ok()) committed = w.Run("COMMIT");
  if (!committed.ok()) {
    w.Run("ROLLBACK");
    for (PendingCommit* pending : batch) {
      if (pending->result.ok()) pending->result = committed;
    }
  }
}

Status SqliteMetadataStore::WriteRevision(Connection& w, int64_t revision) {
  HANGAR_ASSIGN_OR_RETURN(sqlite3_stmt * bump,
                          w.Prepare("UPDATE store_meta SET value=?1 WHERE name='revision'"));
  sqlite3_bind_int64(bump, 1, revision);
  int rc = sqlite3_step(bump);
  sqlite3_reset(bump);
  return rc == SQLITE_DONE ? Status::Ok() : w.Failed("write revision sequence");
}

// One caller's mutations inside the open transaction, every write at `revision`. On failure the
// caller's savepoint is rolled back by CommitBatch.
Result<std::vector<int64_t>> SqliteMetadataStore::ApplyMutations(
    Connection& w, const std::vector<Mutation>& mutations, int64_t revision) {
  std::vector<int64_t> revisions;
  revisions.reserve(mutations.size());
  for (const Mutation& m : mutations) {
    const Document& d = m.doc;
    HANGAR_ASSIGN_OR_RETURN(
        sqlite3_stmt * sel,
        w.Prepare("SELECT revision FROM documents WHERE collection=?1 AND partition=?2 AND id=?3"));
    BindAddress(sel, d);
    int rc = sqlite3_step(sel);
    const int64_t current = rc == SQLITE_ROW ? sqlite3_column_int64(sel, 0) : 0;
    sqlite3_reset(sel);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return w.Failed("read revision");
    if (!PreconditionHolds(m, current)) {
      return Status(ErrorCode::kConflict, "precondition failed for " + d.collection);
    }
    if (m.kind == Mutation::Kind::kCheck) {
      revisions.push_back(current);
    } else if (m.kind == Mutation::Kind::kDelete) {
      HANGAR_ASSIGN_OR_RETURN(
          sqlite3_stmt * del,
          w.Prepare("DELETE FROM documents WHERE collection=?1 AND partition=?2 AND id=?3"));
      BindAddress(del, d);
      rc = sqlite3_step(del);
      sqlite3_reset(del);
      if (rc != SQLITE_DONE) return w.Failed("delete");
      revisions.push_back(0);
    } else {
      HANGAR_ASSIGN_OR_RETURN(
          sqlite3_stmt * put,
          w.Prepare("INSERT OR REPLACE INTO documents(collection, partition, id, body, revision, "
                    "due_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
      BindAddress(put, d);
      BindBlob(put, 4, d.body);
      sqlite3_bind_int64(put, 5, revision);
      sqlite3_bind_int64(put, 6, d.due_at_ms);
      rc = sqlite3_step(put);
      sqlite3_reset(put);
      if (rc != SQLITE_DONE) return w.Failed("put");
      revisions.push_back(revision);
    }
  }
  return revisions;
}

size_t SqliteMetadataStore::queued() const {
  std::lock_guard lock(queue_mu_);
  return queued_.size();
}

uint64_t SqliteMetadataStore::transactions() const {
  std::lock_guard lock(write_mu_);
  return transactions_;
}

Status SqliteMetadataStore::Scrub() {
  std::lock_guard lock(write_mu_);
  // secure_delete already zeroes freed pages in the database file; the WAL still holds page images
  // from before the delete, so checkpoint everything and truncate it to zero bytes.
  HANGAR_RETURN_IF_ERROR(writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE);"));
  return Status::Ok();
}

}  // namespace hangar::store
