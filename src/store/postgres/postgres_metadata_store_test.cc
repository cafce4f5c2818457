#include "store/postgres/postgres_metadata_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "crypto/random.h"
#include "store/metadata_store_conformance.h"

// These tests need a PostgreSQL server; they fail, not skip, without one. ctest starts one with
// scripts/postgres.sh (the `cluster` label) and names the file holding its URI in
// HANGAR_TEST_POSTGRES_URI_FILE; by hand:
//   scripts/postgres.sh start
//   export HANGAR_TEST_POSTGRES_URI=$(scripts/postgres.sh uri)
//   build/src/store/postgres/store_postgres_tests
// Every test works in a schema of its own, dropped at its end, so tests may run in parallel and
// again against the same server.

namespace hangar::store {
namespace {

Result<std::string> TestServerUri() {
  if (const char* uri = std::getenv("HANGAR_TEST_POSTGRES_URI"); uri && *uri)
    return std::string(uri);
  if (const char* file = std::getenv("HANGAR_TEST_POSTGRES_URI_FILE"); file && *file) {
    std::ifstream in(file);
    std::string uri;
    if (in && std::getline(in, uri) && !uri.empty()) return uri;
    return InternalError(std::string("no PostgreSQL URI in ") + file +
                         ": did `scripts/postgres.sh start` (ctest's fixture) fail?");
  }
  return InternalError(
      "HANGAR_TEST_POSTGRES_URI is not set: start a throwaway server with `scripts/postgres.sh "
      "start` and run with HANGAR_TEST_POSTGRES_URI=$(scripts/postgres.sh uri)");
}

std::string FreshSchema() {
  return "t" + std::to_string(::getpid()) + "_" +
         crypto::RandomString(12, "abcdefghijklmnopqrstuvwxyz0123456789");
}

// Plain SQL on a connection of its own, for what the store does not show (or to break it).
class Sql {
 public:
  explicit Sql(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);  // "drop cascades to ..."
  }
  ~Sql() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Text of every row's columns; fails the test on an error.
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    std::vector<std::vector<std::string>> rows;
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        << sql << ": " << PQerrorMessage(conn_);
    for (int row = 0; row < PQntuples(r); ++row) {
      rows.emplace_back();
      for (int col = 0; col < PQnfields(r); ++col) rows.back().push_back(PQgetvalue(r, row, col));
    }
    PQclear(r);
    return rows;
  }
  std::string Value(const std::string& sql) {
    auto rows = Query(sql);
    return rows.empty() || rows[0].empty() ? "" : rows[0][0];
  }

 private:
  PGconn* conn_;
};

void DropSchema(const std::string& uri, const std::string& schema) {
  Sql sql(uri);
  if (sql.ok()) sql.Query("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
}

}  // namespace

// The shared MetadataStore behaviour (store/metadata_store_conformance.h).
class PostgresHarness {
 public:
  ~PostgresHarness() {
    if (!schema_.empty()) DropSchema(uri_, schema_);
  }
  Status Start() {
    HANGAR_ASSIGN_OR_RETURN(uri_, TestServerUri());
    schema_ = FreshSchema();
    return Status::Ok();
  }
  Result<std::unique_ptr<MetadataStore>> Open() {
    PostgresOptions options;
    options.schema = schema_;
    HANGAR_ASSIGN_OR_RETURN(auto store, PostgresMetadataStore::Open(uri_, options));
    return std::unique_ptr<MetadataStore>(std::move(store));
  }

 private:
  std::string uri_;
  std::string schema_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, MetadataStoreConformance, PostgresHarness);

namespace {

// What only PostgreSQL's store does: migrations, schemas, the pool, broken connections.
class PostgresMetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto uri = TestServerUri();
    ASSERT_TRUE(uri.ok()) << uri.status().message();
    uri_ = *uri;
    schema_ = NewSchema();
  }
  void TearDown() override {
    for (const auto& schema : schemas_) DropSchema(uri_, schema);
  }
  std::string NewSchema() { return schemas_.emplace_back(FreshSchema()); }
  PostgresOptions Options(const std::string& schema) {
    PostgresOptions o;
    o.schema = schema;
    return o;
  }
  std::unique_ptr<PostgresMetadataStore> OpenStore(PostgresOptions options) {
    auto store = PostgresMetadataStore::Open(uri_, options);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }
  // Connections of `application_name` to the test database.
  int Connections(const std::string& application_name) {
    return std::stoi(Sql(uri_).Value(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name = '" +
        application_name + "'"));
  }
  static Document Doc(std::string id, std::string body) {
    return Document{"c", "p", std::move(id), std::move(body), 0, 0};
  }

  std::string uri_;
  std::string schema_;
  std::vector<std::string> schemas_;
};

TEST_F(PostgresMetadataStoreTest, StoresOpenedAtOnceOnAFreshSchemaApplyEachMigrationOnce) {
  constexpr int kNodes = 6;
  std::vector<Status> opened(kNodes);
  std::vector<std::thread> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.emplace_back([&, i] {
      auto store = PostgresMetadataStore::Open(uri_, Options(schema_));
      opened[i] = store.ok() ? Status::Ok() : store.status();
      if (store.ok()) {
        opened[i] =
            (*store)->Commit({Mutation::Create(Doc("node" + std::to_string(i), "x"))}).status();
      }
    });
  }
  for (auto& node : nodes) node.join();
  for (const Status& s : opened) EXPECT_TRUE(s.ok()) << s.message();
  auto rows = Sql(uri_).Query("SELECT version, count(*) FROM \"" + schema_ +
                              "\".hangar_schema_migrations GROUP BY version ORDER BY version");
  ASSERT_EQ(rows.size(), static_cast<size_t>(PostgresMetadataStore::LatestSchemaVersion()));
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], std::to_string(i + 1));
    EXPECT_EQ(rows[i][1], "1") << "version " << rows[i][0] << " applied more than once";
  }
  EXPECT_EQ(Sql(uri_).Value("SELECT count(*) FROM \"" + schema_ + "\".documents"),
            std::to_string(kNodes));
}

TEST_F(PostgresMetadataStoreTest, ASchemaWrittenByANewerHangarIsRefused) {
  ASSERT_NE(OpenStore(Options(schema_)), nullptr);
  const int newer = PostgresMetadataStore::LatestSchemaVersion() + 1;
  Sql(uri_).Query("INSERT INTO \"" + schema_ + "\".hangar_schema_migrations(version) VALUES (" +
                  std::to_string(newer) + ")");
  auto store = PostgresMetadataStore::Open(uri_, Options(schema_));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInternal);
  EXPECT_NE(store.status().message().find("newer Hangar"), std::string::npos)
      << store.status().message();
}

TEST_F(PostgresMetadataStoreTest, SchemasKeepStoresApart) {
  auto a = OpenStore(Options(schema_));
  auto b = OpenStore(Options(NewSchema()));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Commit({Mutation::Create(Doc("same", "in a"))}).ok());
  ASSERT_TRUE(b->Commit({Mutation::Create(Doc("same", "in b"))}).ok());
  EXPECT_EQ((*a->Get("c", "p", "same"))->body, "in a");
  EXPECT_EQ((*b->Get("c", "p", "same"))->body, "in b");
  ASSERT_TRUE(a->Commit({Mutation::Delete("c", "p", "same")}).ok());
  EXPECT_TRUE(b->Get("c", "p", "same")->has_value());
}

// Two nodes on one schema: each sees the other's commits at once, and their revision-checked
// updates of one document never lose an increment.
TEST_F(PostgresMetadataStoreTest, TwoNodesOnOneSchemaShareDocumentsAndRevisions) {
  auto a = OpenStore(Options(schema_));
  auto b = OpenStore(Options(schema_));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Commit({Mutation::Create(Doc("n", "0"))}).ok());
  ASSERT_TRUE(b->Get("c", "p", "n")->has_value());
  constexpr int kIncrements = 20;
  std::atomic<int64_t> conflicts{0};
  std::set<int64_t> revisions;
  std::mutex mu;
  auto worker = [&](PostgresMetadataStore* node) {
    for (int i = 0; i < kIncrements; ++i) {
      for (;;) {
        Document d = **node->Get("c", "p", "n");
        const int64_t seen = d.revision;
        d.body = std::to_string(std::stoi(d.body) + 1);
        auto r = node->Commit({Mutation::Update(d, seen)});
        if (r.ok()) {
          std::lock_guard lock(mu);
          EXPECT_TRUE(revisions.insert((*r)[0]).second);
          break;
        }
        ASSERT_EQ(r.status().code(), ErrorCode::kConflict) << r.status().message();
        ++conflicts;
      }
    }
  };
  std::thread t1(worker, a.get()), t2(worker, b.get()), t3(worker, a.get()), t4(worker, b.get());
  t1.join();
  t2.join();
  t3.join();
  t4.join();
  auto final_doc = *b->Get("c", "p", "n");
  EXPECT_EQ(final_doc->body, std::to_string(4 * kIncrements));
  EXPECT_EQ(final_doc->revision, *revisions.rbegin());
}

TEST_F(PostgresMetadataStoreTest, ThePoolOpensAtMostPoolSizeConnectionsAndOnlyWhenNeeded) {
  PostgresOptions options = Options(schema_);
  options.pool_size = 2;
  options.application_name = "hangar-pool-" + schema_;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(Connections(options.application_name), 1) << "Open needs one";
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string id = std::to_string(t) + "/" + std::to_string(i);
        EXPECT_TRUE(store->Commit({Mutation::Create(Doc(id, "x"))}).ok());
        EXPECT_TRUE(store->Get("c", "p", id)->has_value());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(Connections(options.application_name), 2);
  EXPECT_EQ(store->List("c", "p", {})->size(), 80u);
  store.reset();
  for (int i = 0; i < 100 && Connections(options.application_name) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Connections(options.application_name), 0) << "closing the store closes them";
}

// A server restart or an administrator ends every connection: the pooled ones are found broken on
// their next use and replaced, and neither reads nor commits (broken before COMMIT) fail for it.
TEST_F(PostgresMetadataStoreTest, BrokenConnectionsAreReplaced) {
  PostgresOptions options = Options(schema_);
  options.application_name = "hangar-broken-" + schema_;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  auto terminate_all = [&] {
    Sql(uri_).Query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
        options.application_name + "'");
    for (int i = 0; i < 100 && Connections(options.application_name) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(Connections(options.application_name), 0);
  };
  // Fill the pool with several idle connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EXPECT_TRUE(store->Commit({Mutation::Create(Doc("warm" + std::to_string(t), "x"))}).ok());
    });
  }
  for (auto& t : threads) t.join();

  terminate_all();
  auto got = store->Get("c", "p", "warm0");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(got->has_value());

  terminate_all();
  auto committed = store->Commit({Mutation::Create(Doc("after", "x"))});
  ASSERT_TRUE(committed.ok()) << committed.status().message();
  EXPECT_TRUE(store->Get("c", "p", "after")->has_value());

  terminate_all();
  auto listed = store->List("c", "p", {});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(listed->size(), 5u);
  EXPECT_TRUE(store->Scrub().ok());
}

TEST_F(PostgresMetadataStoreTest, AnUnreachableServerFailsWithoutShowingThePassword) {
  const std::string secret = "Sup3rS3cretPw";
  for (const std::string& uri : std::vector<std::string>{
           "postgresql://hangar:" + secret + "@127.0.0.1:1/hangar",
           "postgresql://hangar@127.0.0.1:1/hangar?password=" + secret,
           "host=127.0.0.1 port=1 user=hangar password=" + secret + " dbname=hangar",
           "postgresql://hangar:" + secret + "@127.0.0.1:1/hangar?bogus=1",
           "host=127.0.0.1 password " + secret,
       }) {
    auto store = PostgresMetadataStore::Open(uri, Options(schema_));
    ASSERT_FALSE(store.ok()) << uri;
    EXPECT_EQ(store.status().code(), ErrorCode::kInternal);
    EXPECT_EQ(store.status().message().find(secret), std::string::npos) << store.status().message();
  }
  auto refused = PostgresMetadataStore::Open(
      "postgresql://hangar:" + secret + "@127.0.0.1:1/hangar", Options(schema_));
  EXPECT_NE(refused.status().message().find("hangar@127.0.0.1:1/hangar"), std::string::npos)
      << refused.status().message();
}

TEST_F(PostgresMetadataStoreTest, ASchemaNameMustBeAPlainIdentifier) {
  for (const std::string& schema :
       std::vector<std::string>{"", "a\"b", "x; DROP TABLE y", std::string(64, 'a')}) {
    auto store = PostgresMetadataStore::Open(uri_, Options(schema));
    EXPECT_FALSE(store.ok()) << schema;
  }
}

}  // namespace
}  // namespace hangar::store

namespace hangar::store {
namespace {

// Cluster coherence: the epoch another node reads moves with every commit that writes a cached
// collection, and only then.
TEST_F(PostgresMetadataStoreTest, TheChangeEpochMovesWithWritesToCachedCollectionsOnly) {
  PostgresOptions options = Options(schema_);
  options.uncached_collections = {"objects"};
  auto writer = OpenStore(options);
  auto reader = OpenStore(Options(schema_));  // another node
  ASSERT_TRUE(writer && reader);
  auto epoch = [&] {
    auto e = reader->ChangeEpoch();
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? *e : -1;
  };
  const int64_t start = epoch();
  ASSERT_TRUE(writer->Commit({Mutation::Upsert({"objects", "b", "k", "bytes", 0, 0})}).ok());
  EXPECT_EQ(epoch(), start) << "a write of uncached documents only";
  ASSERT_TRUE(writer->Commit({Mutation::Upsert({"keys", "", "k1", "state", 0, 0})}).ok());
  EXPECT_EQ(epoch(), start + 1);
  ASSERT_TRUE(
      writer->Commit({Mutation::RequireRevision("keys", "", "k1", 0)}).status().code() ==
      ErrorCode::kConflict);
  ASSERT_TRUE(writer
                  ->Commit({Mutation::Upsert({"objects", "b", "k2", "bytes", 0, 0}),
                            Mutation::Delete("keys", "", "k1")})
                  .ok());
  EXPECT_EQ(epoch(), start + 2) << "a commit touching a cached document among others";
  auto revision = writer->Get("objects", "b", "k");
  ASSERT_TRUE(revision.ok() && *revision);
  ASSERT_TRUE(writer->Commit({Mutation::RequireRevision("objects", "b", "k", (*revision)->revision),
                              Mutation::Upsert({"objects", "b", "k3", "x", 0, 0})})
                  .ok());
  EXPECT_EQ(epoch(), start + 2) << "checks write nothing";
}

TEST_F(PostgresMetadataStoreTest, AWorkLockIsHeldByOneNodeAtATime) {
  auto a = OpenStore(Options(schema_));
  auto b = OpenStore(Options(schema_));
  auto elsewhere = OpenStore(Options(NewSchema()));
  ASSERT_TRUE(a && b && elsewhere);
  auto held = a->LockWork("lifecycle", /*wait=*/false);
  ASSERT_TRUE(held.ok()) << held.status().message();
  ASSERT_NE(*held, nullptr);
  auto refused = b->LockWork("lifecycle", false);
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  EXPECT_EQ(*refused, nullptr) << "another node holds it";
  auto other_name = b->LockWork("digests", false);
  ASSERT_TRUE(other_name.ok());
  EXPECT_NE(*other_name, nullptr) << "locks of other names are other locks";
  auto other_schema = elsewhere->LockWork("lifecycle", false);
  ASSERT_TRUE(other_schema.ok());
  EXPECT_NE(*other_schema, nullptr) << "stores on other schemas share nothing";
  held->reset();
  auto after = b->LockWork("lifecycle", false);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, nullptr) << "released when the holder let go";
}

// A node killed while it holds the lock (kill -9: no destructor runs) must not keep it.
TEST_F(PostgresMetadataStoreTest, AWorkLockOfANodeKilledWhileHoldingItPassesToAWaitingNode) {
  auto survivor = OpenStore(Options(schema_));
  ASSERT_TRUE(survivor);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto node = PostgresMetadataStore::Open(uri_, Options(schema_));
    if (!node.ok()) _exit(2);
    auto lock = (*node)->LockWork("lifecycle", false);
    if (!lock.ok() || !*lock) _exit(3);
    const char byte = 'x';
    if (write(ready[1], &byte, 1) != 1) _exit(4);
    for (;;) pause();
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the child could not take the lock";
  close(ready[0]);
  auto while_alive = survivor->LockWork("lifecycle", false);
  ASSERT_TRUE(while_alive.ok());
  EXPECT_EQ(*while_alive, nullptr) << "the child holds it";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  auto taken = survivor->LockWork("lifecycle", /*wait=*/true);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_NE(*taken, nullptr);
}

}  // namespace
}  // namespace hangar::store
