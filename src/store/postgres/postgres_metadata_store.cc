#include "store/postgres/postgres_metadata_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <bitset>
#include <charconv>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <thread>
#include <tuple>

namespace hangar::store {
namespace {

// The schema's history. A migration runs once per schema, in one transaction with the row that
// records it; a released Hangar never edits one, it adds the next.
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE documents(
  collection bytea  NOT NULL,
  partition  bytea  NOT NULL,
  id         bytea  NOT NULL,
  body       bytea  NOT NULL,
  revision   bigint NOT NULL,
  due_at_ms  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (collection, partition, id)
);
CREATE INDEX documents_due ON documents(collection, due_at_ms) WHERE due_at_ms > 0;
CREATE SEQUENCE document_revisions AS bigint NO CYCLE;
)sql"},
    // Cluster coherence (ChangeEpoch): one row, moved by every commit that writes a cached
    // document, in the same transaction.
    {2, R"sql(
CREATE TABLE change_epoch(id integer PRIMARY KEY CHECK (id = 1), value bigint NOT NULL);
INSERT INTO change_epoch VALUES (1, 0);
)sql"},
};

// pg_advisory_xact_lock(int, int) key of the migrations, in a space of its own: the address locks
// of commits use the one-bigint form. "HNGR", 1.
constexpr int32_t kMigrationLockClass = 0x484e4752;
constexpr int32_t kMigrationLockObject = 1;
// pg_advisory_lock(int, int) class of LockWork's session locks: "HNGW".
constexpr int32_t kWorkLockClass = 0x484e4757;

constexpr auto kMaxBackoff = std::chrono::milliseconds(100);

// Every statement a connection prepares (on first use), by index.
enum class Stmt {
  kGet,
  kListBounded,
  kListUnbounded,
  kListDue,
  kLockAddresses,
  kReadRevision,
  kNextRevision,
  kPut,
  kDelete,
  kBumpEpoch,
  kReadEpoch,
  kScanFirst,
  kScanAfter,
  kRaiseRevisions,
  kCount_,
};
struct StmtDef {
  const char* name;
  const char* sql;
};
constexpr StmtDef kStatements[] = {
    {"hangar_get",
     "SELECT body, revision, due_at_ms FROM documents WHERE collection=$1 AND partition=$2 AND "
     "id=$3"},
    {"hangar_list_bounded",
     "SELECT id, body, revision, due_at_ms FROM documents WHERE collection=$1 AND partition=$2 "
     "AND id>=$3 AND id<$4 ORDER BY id LIMIT $5"},
    {"hangar_list_unbounded",
     "SELECT id, body, revision, due_at_ms FROM documents WHERE collection=$1 AND partition=$2 "
     "AND id>=$3 ORDER BY id LIMIT $4"},
    // `due_at_ms > 0` spelled out so that the partial index documents_due applies.
    {"hangar_list_due",
     "SELECT partition, id, body, revision, due_at_ms FROM documents WHERE collection=$1 AND "
     "due_at_ms>0 AND due_at_ms<=$2 ORDER BY due_at_ms LIMIT $3"},
    // The keys arrive sorted; a volatile function in the select list runs after the ORDER BY, so
    // the locks are taken in that order.
    {"hangar_lock_addresses",
     "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS t(k, n) "
     "ORDER BY n"},
    {"hangar_read_revision",
     "SELECT revision FROM documents WHERE collection=$1 AND partition=$2 AND id=$3"},
    {"hangar_next_revision", "SELECT nextval('document_revisions')"},
    {"hangar_put",
     "INSERT INTO documents(collection, partition, id, body, revision, due_at_ms) "
     "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (collection, partition, id) DO UPDATE SET "
     "body=excluded.body, revision=excluded.revision, due_at_ms=excluded.due_at_ms"},
    {"hangar_delete", "DELETE FROM documents WHERE collection=$1 AND partition=$2 AND id=$3"},
    {"hangar_bump_epoch", "UPDATE change_epoch SET value=value+1 WHERE id=1"},
    {"hangar_read_epoch", "SELECT value FROM change_epoch WHERE id=1"},
    {"hangar_scan_first",
     "SELECT collection, partition, id, body, revision, due_at_ms FROM documents ORDER BY "
     "collection, partition, id LIMIT $1"},
    {"hangar_scan_after",
     "SELECT collection, partition, id, body, revision, due_at_ms FROM documents WHERE "
     "(collection, partition, id) > ($1, $2, $3) ORDER BY collection, partition, id LIMIT $4"},
    // The sequence continues above `$1`; is_called of a fresh sequence is false, but every
    // revision is at least 1, so last_value (1) never exceeds a real one.
    {"hangar_raise_revisions",
     "SELECT setval('document_revisions', GREATEST($1, (SELECT last_value FROM "
     "document_revisions)))"},
};
static_assert(std::size(kStatements) == static_cast<size_t>(Stmt::kCount_));

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

// Statement parameters: bytes and integers in binary format (no escaping, any bytes), an array
// literal in text format.
class Params {
 public:
  Params& Bytes(std::string_view v) {
    // A zero-length value still needs a pointer: NULL would mean SQL NULL.
    values_.push_back(v.empty() ? "" : v.data());
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
    return *this;
  }
  Params& Int64(int64_t v) {
    std::string& big_endian = storage_.emplace_back(8, '\0');
    for (int i = 0; i < 8; ++i) {
      big_endian[i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
    }
    return Bytes(big_endian);
  }
  Params& Text(std::string v) {
    values_.push_back(storage_.emplace_back(std::move(v)).c_str());
    lengths_.push_back(0);
    formats_.push_back(0);
    return *this;
  }
  Params& Address(const Document& d) { return Bytes(d.collection).Bytes(d.partition).Bytes(d.id); }

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::deque<std::string> storage_;  // stable addresses for values_
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

std::string BytesAt(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}
// A bigint column of a binary-format result.
int64_t Int64At(const PGresult* r, int row, int col) {
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  if (PQgetlength(r, row, col) != 8) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

int64_t SqlLimit(size_t limit) {
  return static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

// 64-bit FNV-1a: the same on every node, which is all the address locks need of it (two addresses
// sharing a key only ever wait for each other).
class Fnv1a {
 public:
  Fnv1a& Add(std::string_view bytes) {
    const uint32_t n = static_cast<uint32_t>(bytes.size());
    for (int i = 0; i < 4; ++i) Byte(static_cast<unsigned char>(n >> (8 * i)));
    for (char c : bytes) Byte(static_cast<unsigned char>(c));
    return *this;
  }
  int64_t value() const { return static_cast<int64_t>(h_); }

 private:
  void Byte(unsigned char b) { h_ = (h_ ^ b) * 0x100000001b3ULL; }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

// The address lock keys of a commit as a bigint[] literal, ascending and without repeats: every
// transaction takes its locks in this one order, so two commits never wait for each other in a
// cycle.
std::string LockKeys(const std::string& schema, const std::vector<Mutation>& mutations) {
  std::vector<int64_t> keys;
  keys.reserve(mutations.size());
  for (const Mutation& m : mutations) {
    keys.push_back(
        Fnv1a().Add(schema).Add(m.doc.collection).Add(m.doc.partition).Add(m.doc.id).value());
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::string literal = "{";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) literal += ',';
    literal += std::to_string(keys[i]);
  }
  return literal + "}";
}

bool ValidSchemaName(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  return std::all_of(schema.begin(), schema.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// The first line of a libpq message, without its trailing newline.
std::string FirstLine(const char* message) {
  std::string s = message ? message : "";
  s = s.substr(0, s.find('\n'));
  return s.empty() ? "unknown error" : s;
}

void WaitBeforeRetry(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const auto cap = std::min<std::chrono::microseconds>(
      kMaxBackoff, std::chrono::microseconds(500 << std::min(attempt, 10)));
  std::uniform_int_distribution<int64_t> jitter(0, cap.count());
  std::this_thread::sleep_for(std::chrono::microseconds(jitter(random)));
}

}  // namespace

// One libpq connection with its prepared statements. Used by one thread at a time (a Lease).
class PostgresMetadataStore::Connection {
 public:
  // Why the last call failed, which decides whether the caller may try again.
  enum class Failure {
    kNone,
    kConnection,  // the connection is gone: the server rolled back any open transaction
    kRetry,       // serialization failure, deadlock or unique violation: run the transaction again
    kOther,
  };

  explicit Connection(ConnPtr conn) : conn_(std::move(conn)) {
    // libpq prints notices ("schema exists, skipping", VACUUM warnings) to stderr by default.
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
  }

  // A simple query (no parameters: it may hold several statements), or with text parameters.
  Result<PgResult> Exec(const char* sql, const std::vector<std::string>& text_params = {}) {
    PgResult r;
    if (text_params.empty()) {
      r.reset(PQexec(conn_.get(), sql));
    } else {
      std::vector<const char*> values;
      for (const auto& p : text_params) values.push_back(p.c_str());
      r.reset(PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0));
    }
    return Check(std::move(r), sql);
  }

  // A prepared statement with binary results.
  Result<PgResult> Run(Stmt stmt, const Params& params = Params()) {
    const size_t index = static_cast<size_t>(stmt);
    const StmtDef& def = kStatements[index];
    if (!prepared_[index]) {
      HANGAR_RETURN_IF_ERROR(
          Check(PgResult(PQprepare(conn_.get(), def.name, def.sql, params.size(), nullptr)),
                def.name)
              .status());
      prepared_[index] = true;
    }
    return Check(PgResult(PQexecPrepared(conn_.get(), def.name, params.size(), params.values(),
                                         params.lengths(), params.formats(), 1)),
                 def.name);
  }

  // Ends a failed transaction. Keeps failure(): it is the first error that counts.
  void Rollback() {
    if (PQstatus(conn_.get()) == CONNECTION_OK &&
        PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      PgResult(PQexec(conn_.get(), "ROLLBACK"));
    }
  }

  // Still connected and outside a transaction: fit to lend out again.
  bool Reusable() const {
    return PQstatus(conn_.get()) == CONNECTION_OK &&
           PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
  }

  Failure failure() const { return failure_; }

 private:
  // Passes a successful result on; otherwise classifies the failure and names it. The message is
  // the server's primary message and SQLSTATE only: its DETAIL may quote a row, and a row may hold
  // sealed key material.
  Result<PgResult> Check(PgResult r, const char* what) {
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      failure_ = Failure::kNone;
      return r;
    }
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      failure_ = Failure::kConnection;
      return InternalError(std::string("postgres ") + what +
                           ": connection lost: " + FirstLine(PQerrorMessage(conn_.get())));
    }
    const char* sqlstate = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    const std::string state = sqlstate ? sqlstate : "";
    // 08xxx: connection exception; 57P01..57P03: the server shuts down or refuses new work.
    if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0) {
      failure_ = Failure::kConnection;
    } else if (state == "40001" || state == "40P01" || state == "23505") {
      failure_ = Failure::kRetry;
    } else {
      failure_ = Failure::kOther;
    }
    const char* primary = r ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    return InternalError(std::string("postgres ") + what + ": " +
                         (primary ? std::string(primary) : FirstLine(PQerrorMessage(conn_.get()))) +
                         (state.empty() ? "" : " (SQLSTATE " + state + ")"));
  }

  ConnPtr conn_;
  std::bitset<static_cast<size_t>(Stmt::kCount_)> prepared_;
  Failure failure_ = Failure::kNone;
};

// A connection borrowed from the pool; going out of scope returns it (or drops it if broken).
class PostgresMetadataStore::Lease {
 public:
  Lease(PostgresMetadataStore* store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept : store_(other.store_), connection_(std::move(other.connection_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_) store_->Release(std::move(connection_));
  }
  Connection& operator*() const { return *connection_; }
  Connection* operator->() const { return connection_.get(); }

 private:
  PostgresMetadataStore* store_;
  std::unique_ptr<Connection> connection_;
};

PostgresMetadataStore::PostgresMetadataStore(std::string conninfo, std::string server,
                                             PostgresOptions options)
    : conninfo_(std::move(conninfo)), server_(std::move(server)), options_(std::move(options)) {}

PostgresMetadataStore::~PostgresMetadataStore() = default;

int PostgresMetadataStore::LatestSchemaVersion() { return std::end(kMigrations)[-1].version; }

Result<std::unique_ptr<PostgresMetadataStore>> PostgresMetadataStore::Open(
    const std::string& uri, PostgresOptions options) {
  if (!ValidSchemaName(options.schema)) {
    return InternalError("postgres: schema name must be 1-63 letters, digits or '_'");
  }
  if (options.pool_size == 0) options.pool_size = 1;
  if (options.max_attempts < 1) options.max_attempts = 1;
  // Name the server for messages from the parsed options, so that a password (in the URI's user
  // info, a password= parameter or a key=value string) can never reach one. libpq's own parse
  // error may quote the string: it is not passed on.
  char* parse_error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> parsed(
      PQconninfoParse(uri.c_str(), &parse_error));
  if (parse_error) PQfreemem(parse_error);
  if (!parsed) return InternalError("postgres: not a valid libpq connection URI or string");
  std::string host, port, dbname, user;
  for (PQconninfoOption* o = parsed.get(); o->keyword; ++o) {
    const std::string keyword = o->keyword;
    const std::string value = o->val ? o->val : "";
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = value;
    if (keyword == "port") port = value;
    if (keyword == "dbname") dbname = value;
    if (keyword == "user") user = value;
  }
  std::string server = (user.empty() ? "" : user + "@") + (host.empty() ? "localhost" : host) +
                       (port.empty() ? "" : ":" + port) + "/" + dbname;

  std::unique_ptr<PostgresMetadataStore> store(
      new PostgresMetadataStore(uri, std::move(server), std::move(options)));
  HANGAR_ASSIGN_OR_RETURN(Lease c, store->Acquire());
  HANGAR_RETURN_IF_ERROR(store->Migrate(*c));
  return store;
}

Result<std::unique_ptr<PostgresMetadataStore::Connection>> PostgresMetadataStore::Connect() const {
  // Our defaults first, the URI after: with expand_dbname, later keywords win, so whatever the
  // URI says about timeouts or its name stands.
  const std::string timeout = std::to_string(options_.connect_timeout_s);
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), options_.application_name.c_str(), conninfo_.c_str(),
                          nullptr};
  ConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!conn) return InternalError("postgres: out of memory connecting to " + server_);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return InternalError("postgres: cannot connect to " + server_ + ": " +
                         FirstLine(PQerrorMessage(conn.get())));
  }
  auto c = std::make_unique<Connection>(std::move(conn));
  // 1. Every name resolves in our schema.
  // 2. A commit must be durable when it returns: should the server (or the role) default to
  //    synchronous_commit=off, turn it on for this session; any stronger setting (remote_write,
  //    remote_apply for synchronous standbys) is kept.
  // 3. A node that stops talking in the middle of a transaction (partitioned, frozen) would hold
  //    its address locks until the server noticed the dead connection — hours of TCP keepalive by
  //    default. Unless the server bounds that already, the server ends such a session after a
  //    minute; our transactions never wait on anything but the server itself.
  const std::string setup = "SET search_path TO \"" + options_.schema +
                            "\"; SELECT current_setting('synchronous_commit'), "
                            "current_setting('idle_in_transaction_session_timeout')";
  HANGAR_ASSIGN_OR_RETURN(PgResult r, c->Exec(setup.c_str()));
  if (PQntuples(r.get()) != 1) return InternalError("postgres: session setup returned no row");
  if (std::string_view(PQgetvalue(r.get(), 0, 0)) == "off") {
    HANGAR_RETURN_IF_ERROR(c->Exec("SET synchronous_commit TO on").status());
  }
  if (std::string_view(PQgetvalue(r.get(), 0, 1)) == "0") {
    HANGAR_RETURN_IF_ERROR(c->Exec("SET idle_in_transaction_session_timeout TO '60s'").status());
  }
  return c;
}

// Several nodes may start at once: each takes one advisory lock for the whole migration
// transaction, so the first applies what is missing and the others find it done. DDL is
// transactional in PostgreSQL: a failed migration leaves nothing behind.
Status PostgresMetadataStore::Migrate(Connection& c) {
  const std::string schema = "\"" + options_.schema + "\"";
  auto migrate = [&]() -> Status {
    HANGAR_RETURN_IF_ERROR(c.Exec("BEGIN").status());
    const std::string lock = "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockClass) +
                             ", " + std::to_string(kMigrationLockObject) + ")";
    HANGAR_RETURN_IF_ERROR(c.Exec(lock.c_str()).status());
    // Not CREATE SCHEMA IF NOT EXISTS: that needs the CREATE privilege even when the schema is
    // there already (an administrator may have made it for a role without that privilege).
    HANGAR_ASSIGN_OR_RETURN(
        PgResult exists, c.Exec("SELECT 1 FROM pg_namespace WHERE nspname=$1", {options_.schema}));
    if (PQntuples(exists.get()) == 0) {
      HANGAR_RETURN_IF_ERROR(c.Exec(("CREATE SCHEMA " + schema).c_str()).status());
    }
    HANGAR_RETURN_IF_ERROR(c.Exec(("SET LOCAL search_path TO " + schema).c_str()).status());
    HANGAR_RETURN_IF_ERROR(
        c.Exec("CREATE TABLE IF NOT EXISTS hangar_schema_migrations(version integer PRIMARY KEY, "
               "applied_at timestamptz NOT NULL DEFAULT now())")
            .status());
    HANGAR_ASSIGN_OR_RETURN(
        PgResult current_row,
        c.Exec("SELECT COALESCE(max(version), 0) FROM hangar_schema_migrations"));
    int current = 0;
    const char* text = PQgetvalue(current_row.get(), 0, 0);
    std::from_chars(text, text + std::char_traits<char>::length(text), current);
    if (current > LatestSchemaVersion()) {
      return InternalError("postgres: schema " + options_.schema + " on " + server_ +
                           " was written by a newer Hangar (schema version " +
                           std::to_string(current) + ", this build knows " +
                           std::to_string(LatestSchemaVersion()) + ")");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      HANGAR_RETURN_IF_ERROR(c.Exec(m.sql).status());
      HANGAR_RETURN_IF_ERROR(c.Exec("INSERT INTO hangar_schema_migrations(version) VALUES($1)",
                                    {std::to_string(m.version)})
                                 .status());
    }
    return c.Exec("COMMIT").status();
  };
  Status migrated = migrate();
  if (!migrated.ok()) {
    c.Rollback();
    return Status(migrated.code(), "postgres: migrating schema " + options_.schema + " on " +
                                       server_ + ": " + migrated.message());
  }
  return Status::Ok();
}

Result<PostgresMetadataStore::Lease> PostgresMetadataStore::Acquire() {
  std::unique_lock lock(pool_mu_);
  pool_cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.pool_size; });
  if (!idle_.empty()) {
    std::unique_ptr<Connection> c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(c));
  }
  ++open_;
  lock.unlock();
  auto connected = Connect();
  if (!connected.ok()) {
    lock.lock();
    --open_;
    pool_cv_.notify_one();
    return std::move(connected).TakeStatus();
  }
  return Lease(this, std::move(connected).value());
}

void PostgresMetadataStore::Release(std::unique_ptr<Connection> connection) {
  if (!connection->Reusable()) {
    connection->Rollback();
    if (!connection->Reusable()) connection.reset();
  }
  std::lock_guard lock(pool_mu_);
  if (connection) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  pool_cv_.notify_one();
}

void PostgresMetadataStore::DropIdle() {
  std::vector<std::unique_ptr<Connection>> dropped;
  {
    std::lock_guard lock(pool_mu_);
    dropped.swap(idle_);
    open_ -= dropped.size();
    pool_cv_.notify_all();
  }
}

template <typename T, typename Read>
Result<T> PostgresMetadataStore::ReadWithRetry(Read read) {
  for (int attempt = 0;; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(Lease c, Acquire());
    Result<T> result = read(*c);
    if (result.ok() || c->failure() != Connection::Failure::kConnection || attempt > 0) {
      return result;
    }
    DropIdle();
  }
}

Result<std::optional<Document>> PostgresMetadataStore::Get(std::string_view collection,
                                                           std::string_view partition,
                                                           std::string_view id) {
  return ReadWithRetry<std::optional<Document>>(
      [&](Connection& c) -> Result<std::optional<Document>> {
        HANGAR_ASSIGN_OR_RETURN(
            PgResult r, c.Run(Stmt::kGet, Params().Bytes(collection).Bytes(partition).Bytes(id)));
        if (PQntuples(r.get()) == 0) return std::optional<Document>();
        return std::optional<Document>(Document{std::string(collection), std::string(partition),
                                                std::string(id), BytesAt(r.get(), 0, 0),
                                                Int64At(r.get(), 0, 1), Int64At(r.get(), 0, 2)});
      });
}

Result<std::vector<Document>> PostgresMetadataStore::List(std::string_view collection,
                                                          std::string_view partition,
                                                          const ListOptions& options) {
  // One inclusive lower bound: the prefix, or the smallest id after start_after (start_after
  // followed by a zero byte) when that is greater; the upper bound is exclusive.
  std::string lower = options.prefix;
  if (!options.start_after.empty() && options.start_after >= options.prefix) {
    lower = options.start_after;
    lower.push_back('\0');
  }
  const std::string upper = PrefixSuccessor(options.prefix);
  return ReadWithRetry<std::vector<Document>>([&](Connection& c) -> Result<std::vector<Document>> {
    Params params;
    params.Bytes(collection).Bytes(partition).Bytes(lower);
    if (!upper.empty()) params.Bytes(upper);
    params.Int64(SqlLimit(options.limit));
    HANGAR_ASSIGN_OR_RETURN(
        PgResult r, c.Run(upper.empty() ? Stmt::kListUnbounded : Stmt::kListBounded, params));
    std::vector<Document> docs;
    docs.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      docs.push_back(Document{std::string(collection), std::string(partition),
                              BytesAt(r.get(), row, 0), BytesAt(r.get(), row, 1),
                              Int64At(r.get(), row, 2), Int64At(r.get(), row, 3)});
    }
    return docs;
  });
}

Result<std::vector<Document>> PostgresMetadataStore::ListDue(std::string_view collection,
                                                             int64_t now_ms, size_t limit) {
  return ReadWithRetry<std::vector<Document>>([&](Connection& c) -> Result<std::vector<Document>> {
    HANGAR_ASSIGN_OR_RETURN(
        PgResult r,
        c.Run(Stmt::kListDue, Params().Bytes(collection).Int64(now_ms).Int64(SqlLimit(limit))));
    std::vector<Document> docs;
    docs.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      docs.push_back(Document{std::string(collection), BytesAt(r.get(), row, 0),
                              BytesAt(r.get(), row, 1), BytesAt(r.get(), row, 2),
                              Int64At(r.get(), row, 3), Int64At(r.get(), row, 4)});
    }
    return docs;
  });
}

// The body of a commit's transaction, after BEGIN and before COMMIT:
//  1. lock every address the commit touches (advisory locks in key order; an absent document is
//     locked as surely as a present one, which row locks could not do);
//  2. read the revision of each: a statement after the locks sees every commit of the previous
//     holders, because a transaction releases its locks only once its commit is visible;
//  3. take the commit's revision from the sequence — only now, so that any later writer of one of
//     these documents, which must wait for our locks, gets a larger one;
//  4. check the preconditions in order, each against the state the earlier mutations left;
//  5. write.
Result<std::vector<int64_t>> PostgresMetadataStore::ApplyCommit(
    Connection& c, const std::vector<Mutation>& mutations, const std::string& lock_keys) const {
  HANGAR_RETURN_IF_ERROR(c.Run(Stmt::kLockAddresses, Params().Text(lock_keys)).status());

  using Address = std::tuple<std::string_view, std::string_view, std::string_view>;
  std::map<Address, int64_t> revisions;  // 0: absent
  bool writes = false;
  for (const Mutation& m : mutations) {
    writes = writes || m.kind == Mutation::Kind::kPut;
    Address a{m.doc.collection, m.doc.partition, m.doc.id};
    if (revisions.count(a)) continue;
    HANGAR_ASSIGN_OR_RETURN(PgResult r, c.Run(Stmt::kReadRevision, Params().Address(m.doc)));
    revisions[a] = PQntuples(r.get()) == 0 ? 0 : Int64At(r.get(), 0, 0);
  }

  int64_t revision = 0;
  if (writes) {
    HANGAR_ASSIGN_OR_RETURN(PgResult r, c.Run(Stmt::kNextRevision));
    revision = Int64At(r.get(), 0, 0);
  }

  std::vector<int64_t> out;
  out.reserve(mutations.size());
  for (const Mutation& m : mutations) {
    int64_t& current = revisions[Address{m.doc.collection, m.doc.partition, m.doc.id}];
    if (!PreconditionHolds(m, current)) {
      return Status(ErrorCode::kConflict, "precondition failed for " + m.doc.collection);
    }
    switch (m.kind) {
      case Mutation::Kind::kCheck:
        out.push_back(current);
        break;
      case Mutation::Kind::kDelete:
        out.push_back(0);
        current = 0;
        break;
      case Mutation::Kind::kPut:
        out.push_back(revision);
        current = revision;
        break;
    }
  }

  bool cached_write = false;
  for (const Mutation& m : mutations) {
    if (m.kind == Mutation::Kind::kPut) {
      HANGAR_RETURN_IF_ERROR(
          c.Run(Stmt::kPut,
                Params().Address(m.doc).Bytes(m.doc.body).Int64(revision).Int64(m.doc.due_at_ms))
              .status());
    } else if (m.kind == Mutation::Kind::kDelete) {
      HANGAR_RETURN_IF_ERROR(c.Run(Stmt::kDelete, Params().Address(m.doc)).status());
    }
    const auto& uncached = options_.uncached_collections;
    cached_write = cached_write ||
                   (m.kind != Mutation::Kind::kCheck &&
                    std::find(uncached.begin(), uncached.end(), m.doc.collection) == uncached.end());
  }
  // 6. Move the change epoch, last: its row lock is held to COMMIT, so no node reads the new
  //    epoch before the change is visible (and the address locks, taken first, keep the order).
  if (cached_write) HANGAR_RETURN_IF_ERROR(c.Run(Stmt::kBumpEpoch).status());
  return out;
}

// A commit runs as one transaction, again when it loses to a concurrent one (serialization
// failure or deadlock: neither can normally happen with the address locks, but the server may
// still report them) and once more on a fresh connection when the connection broke before COMMIT
// was sent — the server then rolled the transaction back, so nothing was applied. A connection
// that breaks after COMMIT was sent leaves the outcome unknown: running the mutations again could
// apply them twice (an upsert at a second revision) or report a conflict with our own first
// attempt, so the caller gets kInternal and decides.
Result<std::vector<int64_t>> PostgresMetadataStore::Commit(const std::vector<Mutation>& mutations) {
  if (mutations.empty()) return std::vector<int64_t>();
  const std::string lock_keys = LockKeys(options_.schema, mutations);
  bool reconnected = false;
  for (int attempt = 1;; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(Lease c, Acquire());
    bool commit_sent = false;
    Result<std::vector<int64_t>> result = [&]() -> Result<std::vector<int64_t>> {
      HANGAR_RETURN_IF_ERROR(c->Exec("BEGIN ISOLATION LEVEL READ COMMITTED").status());
      HANGAR_ASSIGN_OR_RETURN(std::vector<int64_t> revisions,
                              ApplyCommit(*c, mutations, lock_keys));
      commit_sent = true;
      HANGAR_RETURN_IF_ERROR(c->Exec("COMMIT").status());
      return revisions;
    }();
    if (result.ok()) return result;
    c->Rollback();
    if (result.status().code() == ErrorCode::kConflict) return result;
    switch (c->failure()) {
      case Connection::Failure::kConnection:
        if (commit_sent) {
          return InternalError("postgres commit: the connection to " + server_ +
                               " broke after COMMIT was sent; the commit may or may not have "
                               "been applied");
        }
        if (reconnected) return result;
        reconnected = true;
        DropIdle();
        --attempt;  // not a lost race
        break;
      case Connection::Failure::kRetry:
        if (attempt >= options_.max_attempts) {
          return InternalError("postgres commit: gave up after " + std::to_string(attempt) +
                               " attempts: " + result.status().message());
        }
        WaitBeforeRetry(attempt);
        break;
      default:
        return result;
    }
  }
}

Result<std::vector<Document>> PostgresMetadataStore::Scan(const Document* after, size_t limit) {
  return ReadWithRetry<std::vector<Document>>([&](Connection& c) -> Result<std::vector<Document>> {
    Params params;
    if (after) params.Address(*after);
    params.Int64(SqlLimit(limit));
    HANGAR_ASSIGN_OR_RETURN(PgResult r, c.Run(after ? Stmt::kScanAfter : Stmt::kScanFirst, params));
    std::vector<Document> docs;
    docs.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      docs.push_back(Document{BytesAt(r.get(), row, 0), BytesAt(r.get(), row, 1),
                              BytesAt(r.get(), row, 2), BytesAt(r.get(), row, 3),
                              Int64At(r.get(), row, 4), Int64At(r.get(), row, 5)});
    }
    return docs;
  });
}

Status PostgresMetadataStore::Import(const std::vector<Document>& docs) {
  HANGAR_ASSIGN_OR_RETURN(Lease c, Acquire());
  Status s = [&]() -> Status {
    HANGAR_RETURN_IF_ERROR(c->Exec("BEGIN").status());
    int64_t largest = 0;
    for (const Document& d : docs) {
      Params params;
      params.Address(d).Bytes(d.body).Int64(d.revision).Int64(d.due_at_ms);
      HANGAR_RETURN_IF_ERROR(c->Run(Stmt::kPut, params).status());
      largest = std::max(largest, d.revision);
    }
    if (largest > 0) {
      Params raise;
      raise.Int64(largest);
      HANGAR_RETURN_IF_ERROR(c->Run(Stmt::kRaiseRevisions, raise).status());
    }
    HANGAR_RETURN_IF_ERROR(c->Run(Stmt::kBumpEpoch).status());
    return c->Exec("COMMIT").status();
  }();
  if (!s.ok()) c->Rollback();
  return s;
}

// What PostgreSQL can do: VACUUM removes the dead rows of deleted and overwritten documents from
// the table and its indexes, so their space is reused by new rows. It cannot promise that the old
// bytes are gone from the files: free space in a page is not zeroed, and the WAL, WAL archives,
// replicas and backups keep them until they are recycled. Bodies holding key material are sealed
// under the root key, which is what protects those copies. (VACUUM FULL would rewrite the table,
// but it locks it exclusively for every node, and the WAL would still hold the old rows.)
Result<int64_t> PostgresMetadataStore::ChangeEpoch() {
  return ReadWithRetry<int64_t>([&](Connection& c) -> Result<int64_t> {
    HANGAR_ASSIGN_OR_RETURN(PgResult r, c.Run(Stmt::kReadEpoch));
    if (PQntuples(r.get()) != 1) return InternalError("the change_epoch row is missing");
    return Int64At(r.get(), 0, 0);
  });
}

// A work lock is a session advisory lock on a connection of its own, outside the pool: it lives as
// long as the lock and is closed to release it. PostgreSQL drops a session's locks when the session
// ends, so a node that dies (its socket closed by the kernel) frees the lock at once; one that
// vanishes from the network frees it when the server's keepalive probes go unanswered, which
// this session shortens to about 30 seconds. A node that is alive but stalled keeps it: the other
// nodes wait (at most lock_timeout, then fail the run). If the holder's session ends while it
// works (the server restarted, the network broke), the next holder may overlap with the rest of
// its run; each step of the work is a conditional commit, so overlapping steps conflict instead
// of repeating (docs/cluster.md, "Background work").
class PostgresMetadataStore::SessionWorkLock final : public WorkLock {
 public:
  explicit SessionWorkLock(std::unique_ptr<Connection> connection)
      : connection_(std::move(connection)) {}

 private:
  std::unique_ptr<Connection> connection_;
};

Result<std::unique_ptr<WorkLock>> PostgresMetadataStore::LockWork(std::string_view name,
                                                                   bool wait) {
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connect());
  // The session sits idle while the work runs on pooled connections: a server-side idle timeout
  // must not end it. A wait is bounded, so a stuck holder cannot pin the waiter for ever.
  HANGAR_RETURN_IF_ERROR(c->Exec("SET tcp_keepalives_idle TO 10; SET tcp_keepalives_interval TO 5; "
                                 "SET tcp_keepalives_count TO 4; SET idle_session_timeout TO 0; "
                                 "SET lock_timeout TO '120s'")
                             .status());
  const int32_t object = static_cast<int32_t>(Fnv1a().Add(options_.schema).Add(name).value());
  const std::string sql = std::string(wait ? "SELECT pg_advisory_lock(" : "SELECT pg_try_advisory_lock(") +
                          std::to_string(kWorkLockClass) + ", " + std::to_string(object) + ")";
  HANGAR_ASSIGN_OR_RETURN(PgResult r, c->Exec(sql.c_str()));
  if (!wait && std::string_view(PQgetvalue(r.get(), 0, 0)) != "t") return nullptr;
  return std::make_unique<SessionWorkLock>(std::move(c));
}

Status PostgresMetadataStore::Scrub() {
  return ReadWithRetry<bool>([&](Connection& c) -> Result<bool> {
           HANGAR_RETURN_IF_ERROR(c.Exec("VACUUM documents").status());
           return true;
         })
      .status();
}

}  // namespace hangar::store
