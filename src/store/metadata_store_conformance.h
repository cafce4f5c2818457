#pragma once
// What every MetadataStore must do (store/metadata_store.h), as a googletest suite that each
// backend's test instantiates:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MetadataStoreConformance, SqliteHarness);
//
// A harness is default-constructible and provides
//   Status Start();                                  a fresh, empty store for this test (a
//                                                    failure fails the test with its message)
//   Result<std::unique_ptr<MetadataStore>> Open();   opens that store (again: Reopen)
// and cleans up in its destructor. Tests that only one backend can pass (group commit, files on
// disk, migrations) stay in that backend's own test.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/metadata_store.h"

namespace hangar::store {

template <typename Harness>
class MetadataStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = harness_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto opened = harness_.Open();
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
  }

  MetadataStore& store() { return *store_; }

  static Document Doc(std::string id, std::string body, int64_t due = 0) {
    return Document{"c", "p", std::move(id), std::move(body), 0, due};
  }

  // The revision of each mutation, or the failed commit's error code.
  Result<std::vector<int64_t>> Commit(std::vector<Mutation> m) { return store_->Commit(m); }
  ErrorCode CodeOf(std::vector<Mutation> m) { return store_->Commit(m).status().code(); }

  std::optional<Document> Get(std::string_view id, std::string_view partition = "p") {
    auto got = store_->Get("c", partition, id);
    EXPECT_TRUE(got.ok()) << got.status().message();
    return got.ok() ? *got : std::nullopt;
  }

  std::vector<std::string> Ids(ListOptions o, std::string_view partition = "p") {
    std::vector<std::string> out;
    auto listed = store_->List("c", partition, o);
    EXPECT_TRUE(listed.ok()) << listed.status().message();
    if (listed.ok()) {
      for (auto& d : *listed) out.push_back(d.id);
    }
    return out;
  }

  Harness harness_;
  std::unique_ptr<MetadataStore> store_;
};

TYPED_TEST_SUITE_P(MetadataStoreConformance);

TYPED_TEST_P(MetadataStoreConformance, CreateThenGetReturnsBodyAndRevision) {
  auto revs = this->Commit({Mutation::Create(this->Doc("a", "body-a", 5))});
  ASSERT_TRUE(revs.ok()) << revs.status().message();
  ASSERT_EQ(revs->size(), 1u);
  EXPECT_GT((*revs)[0], 0);
  auto got = this->Get("a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->collection, "c");
  EXPECT_EQ(got->partition, "p");
  EXPECT_EQ(got->id, "a");
  EXPECT_EQ(got->body, "body-a");
  EXPECT_EQ(got->revision, (*revs)[0]);
  EXPECT_EQ(got->due_at_ms, 5);
  EXPECT_FALSE(this->Get("missing").has_value());
  EXPECT_FALSE(this->Get("a", "other").has_value());
  auto other_collection = this->store().Get("d", "p", "a");
  ASSERT_TRUE(other_collection.ok());
  EXPECT_FALSE(other_collection->has_value());
}

TYPED_TEST_P(MetadataStoreConformance, CreateOfAnExistingDocumentConflicts) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "1"))}).ok());
  EXPECT_EQ(this->CodeOf({Mutation::Create(this->Doc("a", "2"))}), ErrorCode::kConflict);
  EXPECT_EQ(this->Get("a")->body, "1");
}

TYPED_TEST_P(MetadataStoreConformance, UpdateChecksTheRevision) {
  auto created = this->Commit({Mutation::Create(this->Doc("a", "1"))});
  ASSERT_TRUE(created.ok());
  const int64_t first = (*created)[0];
  EXPECT_EQ(this->CodeOf({Mutation::Update(this->Doc("a", "stale"), first + 1000)}),
            ErrorCode::kConflict);
  EXPECT_EQ(this->CodeOf({Mutation::Update(this->Doc("absent", "x"), first)}),
            ErrorCode::kConflict);
  auto updated = this->Commit({Mutation::Update(this->Doc("a", "2"), first)});
  ASSERT_TRUE(updated.ok());
  EXPECT_GT((*updated)[0], first);
  EXPECT_EQ(this->Get("a")->body, "2");
  EXPECT_EQ(this->Get("a")->revision, (*updated)[0]);
  EXPECT_EQ(this->CodeOf({Mutation::Update(this->Doc("a", "3"), first)}), ErrorCode::kConflict)
      << "the old revision no longer matches";
}

TYPED_TEST_P(MetadataStoreConformance, UpsertAndDeleteWriteWhetherPresentOrNot) {
  auto created = this->Commit({Mutation::Upsert(this->Doc("a", "1"))});
  ASSERT_TRUE(created.ok());
  auto replaced = this->Commit({Mutation::Upsert(this->Doc("a", "2", 9))});
  ASSERT_TRUE(replaced.ok());
  EXPECT_GT((*replaced)[0], (*created)[0]);
  EXPECT_EQ(this->Get("a")->body, "2");
  EXPECT_EQ(this->Get("a")->due_at_ms, 9);

  auto deleted = this->Commit({Mutation::Delete("c", "p", "a")});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, std::vector<int64_t>{0});
  EXPECT_FALSE(this->Get("a").has_value());
  EXPECT_TRUE(this->Commit({Mutation::Delete("c", "p", "a")}).ok()) << "deleting what is gone";
  EXPECT_TRUE(this->Commit({}).ok()) << "an empty commit";
}

TYPED_TEST_P(MetadataStoreConformance, MustExistFailsForAnAbsentDocument) {
  Mutation put = Mutation::Upsert(this->Doc("a", "x"));
  put.precondition = Precondition::kMustExist;
  Mutation del = Mutation::Delete("c", "p", "a");
  del.precondition = Precondition::kMustExist;
  EXPECT_EQ(this->CodeOf({put}), ErrorCode::kConflict);
  EXPECT_EQ(this->CodeOf({del}), ErrorCode::kConflict);
  EXPECT_FALSE(this->Get("a").has_value());
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "1"))}).ok());
  put.doc.body = "2";
  ASSERT_TRUE(this->Commit({put}).ok());
  EXPECT_EQ(this->Get("a")->body, "2");
  ASSERT_TRUE(this->Commit({del}).ok());
  EXPECT_FALSE(this->Get("a").has_value());
}

TYPED_TEST_P(MetadataStoreConformance, DeleteIfRevisionDeletesOnlyThatRevision) {
  auto created = this->Commit({Mutation::Create(this->Doc("a", "1"))});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(this->CodeOf({Mutation::DeleteIfRevision("c", "p", "a", (*created)[0] + 1)}),
            ErrorCode::kConflict);
  EXPECT_TRUE(this->Get("a").has_value());
  ASSERT_TRUE(this->Commit({Mutation::DeleteIfRevision("c", "p", "a", (*created)[0])}).ok());
  EXPECT_FALSE(this->Get("a").has_value());
  // Expecting revision 0 means expecting the document to be absent.
  EXPECT_TRUE(this->Commit({Mutation::DeleteIfRevision("c", "p", "a", 0)}).ok());
}

TYPED_TEST_P(MetadataStoreConformance, AFailedPreconditionRollsBackTheWholeCommit) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "1")),
                            Mutation::Create(this->Doc("gone", "g"))})
                  .ok());
  EXPECT_EQ(
      this->CodeOf({Mutation::Create(this->Doc("b", "new")),
                    Mutation::Upsert(this->Doc("gone", "overwritten")),
                    Mutation::Delete("c", "p", "gone"), Mutation::Create(this->Doc("a", "dup"))}),
      ErrorCode::kConflict);
  EXPECT_FALSE(this->Get("b").has_value());
  ASSERT_TRUE(this->Get("gone").has_value());
  EXPECT_EQ(this->Get("gone")->body, "g");
  EXPECT_EQ(this->Get("a")->body, "1");
}

TYPED_TEST_P(MetadataStoreConformance, ACheckMutationGuardsACommitWithoutWriting) {
  auto guard = this->Commit({Mutation::Create(this->Doc("guard", "g"))});
  ASSERT_TRUE(guard.ok());
  const int64_t rev = (*guard)[0];
  auto ok = this->Commit({Mutation::RequireRevision("c", "p", "guard", rev),
                          Mutation::Create(this->Doc("child", "c"))});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], rev) << "a check returns the revision it saw";
  EXPECT_EQ(this->Get("guard")->revision, rev);
  EXPECT_EQ(this->CodeOf({Mutation::RequireRevision("c", "p", "guard", rev + 1),
                          Mutation::Create(this->Doc("orphan", "o"))}),
            ErrorCode::kConflict);
  EXPECT_FALSE(this->Get("orphan").has_value());
  // A check of revision 0 requires absence.
  EXPECT_TRUE(this->Commit({Mutation::RequireRevision("c", "p", "nothing", 0)}).ok());
  EXPECT_EQ(this->CodeOf({Mutation::RequireRevision("c", "p", "guard", 0)}), ErrorCode::kConflict);
}

TYPED_TEST_P(MetadataStoreConformance, LaterMutationsOfACommitSeeTheEarlierOnes) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("b", "old"))}).ok());
  auto revs =
      this->Commit({Mutation::Create(this->Doc("a", "1")), Mutation::Delete("c", "p", "a"),
                    Mutation::Delete("c", "p", "b"), Mutation::Create(this->Doc("b", "new")),
                    Mutation::RequireRevision("c", "p", "a", 0)});
  ASSERT_TRUE(revs.ok()) << revs.status().message();
  ASSERT_EQ(revs->size(), 5u);
  EXPECT_GT((*revs)[0], 0);
  EXPECT_EQ((*revs)[1], 0);
  EXPECT_EQ((*revs)[2], 0);
  EXPECT_EQ((*revs)[4], 0);
  EXPECT_FALSE(this->Get("a").has_value());
  ASSERT_TRUE(this->Get("b").has_value());
  EXPECT_EQ(this->Get("b")->body, "new");
  EXPECT_EQ(this->Get("b")->revision, (*revs)[3]);
}

// Hardening item 17: a revision read before a delete must not match the document created again
// under the same address (ABA), or a conditional update could overwrite the new document.
TYPED_TEST_P(MetadataStoreConformance, Item17RevisionsAreNeverReusedAfterADelete) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "first"))}).ok());
  const int64_t before = this->Get("a")->revision;
  ASSERT_TRUE(this->Commit({Mutation::Delete("c", "p", "a")}).ok());
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "second"))}).ok());
  const int64_t after = this->Get("a")->revision;
  EXPECT_GT(after, before);
  EXPECT_EQ(this->CodeOf({Mutation::Update(this->Doc("a", "stale writer"), before)}),
            ErrorCode::kConflict);
  EXPECT_EQ(this->CodeOf({Mutation::RequireRevision("c", "p", "a", before)}), ErrorCode::kConflict);
  // The sequence survives a reopen: it is stored, not counted in memory.
  this->Reopen();
  ASSERT_TRUE(this->Commit({Mutation::Delete("c", "p", "a")}).ok());
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "third"))}).ok());
  EXPECT_GT(this->Get("a")->revision, after);
}

TYPED_TEST_P(MetadataStoreConformance, RevisionsGrowWithEveryWriteOfAnyDocument) {
  int64_t last = 0;
  for (const char* id : {"a", "b", "a", "c", "b", "a"}) {
    auto r = this->Commit({Mutation::Upsert(this->Doc(id, "x"))});
    ASSERT_TRUE(r.ok());
    EXPECT_GT((*r)[0], last) << id;
    last = (*r)[0];
  }
}

TYPED_TEST_P(MetadataStoreConformance, ListIsInBinaryOrderWithPrefixStartAfterAndLimit) {
  std::vector<Mutation> m;
  for (const std::string& id : std::vector<std::string>{"b", "a/2", "a/1", "a\xff", "\xc3\xa9", "A",
                                                        "a/10", std::string("a\0b", 3), "a"}) {
    m.push_back(Mutation::Create(this->Doc(id, "x")));
  }
  m.push_back(Mutation::Create(Document{"c", "q", "a/1", "other partition", 0, 0}));
  m.push_back(Mutation::Create(Document{"d", "p", "a/1", "other collection", 0, 0}));
  ASSERT_TRUE(this->Commit(m).ok());
  using Ids = std::vector<std::string>;
  const std::string a_nul_b("a\0b", 3);
  EXPECT_EQ(this->Ids({}),
            (Ids{"A", "a", a_nul_b, "a/1", "a/10", "a/2", "a\xff", "b", "\xc3\xa9"}));
  EXPECT_EQ(this->Ids({"a/", "", 1000}), (Ids{"a/1", "a/10", "a/2"}));
  EXPECT_EQ(this->Ids({"a/", "a/1", 1000}), (Ids{"a/10", "a/2"}));
  EXPECT_EQ(this->Ids({"", "a/2", 2}), (Ids{"a\xff", "b"}));
  EXPECT_EQ(this->Ids({"a\xff", "", 1000}), (Ids{"a\xff"}));
  EXPECT_EQ(this->Ids({"a/", "a", 1000}), (Ids{"a/1", "a/10", "a/2"}));
  EXPECT_EQ(this->Ids({"a", "a", 1000}), (Ids{a_nul_b, "a/1", "a/10", "a/2", "a\xff"}));
  EXPECT_EQ(this->Ids({"", "a", 1}), (Ids{a_nul_b})) << "the next id may extend start_after by a 0";
  EXPECT_EQ(this->Ids({"a/", "a/3", 1000}), Ids{});
  EXPECT_EQ(this->Ids({"zz", "", 1000}), Ids{});
  EXPECT_EQ(this->Ids({"", "", 0}), Ids{});
  EXPECT_EQ(this->Ids({}, "q"), Ids{"a/1"});
  auto listed = this->store().List("c", "p", {"a/1", "", 1});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].collection, "c");
  EXPECT_EQ((*listed)[0].partition, "p");
  EXPECT_EQ((*listed)[0].body, "x");
  EXPECT_GT((*listed)[0].revision, 0);
}

TYPED_TEST_P(MetadataStoreConformance, ListDueReturnsOnlyDocumentsWhoseTimeHasComeEarliestFirst) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("late", "x", 300)),
                            Mutation::Create(this->Doc("early", "x", 100)),
                            Mutation::Create(Document{"c", "q", "middle", "x", 0, 200}),
                            Mutation::Create(this->Doc("never", "x", 0)),
                            Mutation::Create(Document{"d", "p", "elsewhere", "x", 0, 50})})
                  .ok());
  auto ids = [&](int64_t now, size_t limit) {
    std::vector<std::string> out;
    auto due = this->store().ListDue("c", now, limit);
    EXPECT_TRUE(due.ok()) << due.status().message();
    if (due.ok()) {
      for (auto& d : *due) out.push_back(d.partition + "/" + d.id);
    }
    return out;
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids(99, 10), Ids{});
  EXPECT_EQ(ids(100, 10), Ids{"p/early"});
  EXPECT_EQ(ids(300, 10), (Ids{"p/early", "q/middle", "p/late"}));
  EXPECT_EQ(ids(300, 2), (Ids{"p/early", "q/middle"}));
  auto due = this->store().ListDue("c", 100, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].collection, "c");
  EXPECT_EQ((*due)[0].body, "x");
  EXPECT_EQ((*due)[0].due_at_ms, 100);
  // Clearing the due time takes a document off the list.
  ASSERT_TRUE(this->Commit({Mutation::Upsert(this->Doc("early", "done", 0))}).ok());
  EXPECT_EQ(ids(300, 10), (Ids{"q/middle", "p/late"}));
}

TYPED_TEST_P(MetadataStoreConformance, EveryByteOfBodiesAndAddressesRoundTrips) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  const std::string invalid_utf8 = std::string("\xc3\x28\xa0\xa1\xff\xfe\0\0end", 12);
  std::string large(1 << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>((i * 131) ^ (i >> 9));
  const Document docs[] = {
      {"c", "p", "nul-body", std::string("\0\0\0", 3), 0, 0},
      {"c", "p", "binary", binary, 0, 0},
      {"c", "p", "not-utf8", invalid_utf8, 0, 0},
      {"c", "p", "empty", "", 0, 0},
      {"c", "p", "large", large, 0, 0},
      {"c", std::string("p\0\xff", 3), std::string("\0id\x80", 4), invalid_utf8, 0, 0},
      {"c", "", "", "empty address", 0, 0},
  };
  std::vector<Mutation> m;
  for (const Document& d : docs) m.push_back(Mutation::Create(d));
  ASSERT_TRUE(this->Commit(m).ok());
  this->Reopen();
  for (const Document& d : docs) {
    auto got = this->store().Get(d.collection, d.partition, d.id);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_TRUE(got->has_value()) << d.id;
    EXPECT_TRUE((*got)->body == d.body) << d.id;
    auto listed = this->store().List(d.collection, d.partition, {});
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(std::any_of(listed->begin(), listed->end(), [&](const Document& l) {
      return l.id == d.id && l.body == d.body;
    })) << d.id;
  }
}

TYPED_TEST_P(MetadataStoreConformance, CommittedDataSurvivesReopen) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("a", "durable", 7))}).ok());
  this->Reopen();
  ASSERT_TRUE(this->Get("a").has_value());
  EXPECT_EQ(this->Get("a")->body, "durable");
  EXPECT_EQ(this->Get("a")->due_at_ms, 7);
  EXPECT_TRUE(this->store().Scrub().ok());
}

// Threads increment one counter with revision-checked updates. Every update that succeeds must
// have seen the revision of the one before it (no lost update), and revisions grow along the chain.
TYPED_TEST_P(MetadataStoreConformance, ConcurrentRevisionCheckedUpdatesFormOneChain) {
  auto created = this->Commit({Mutation::Create(this->Doc("n", "0"))});
  ASSERT_TRUE(created.ok());
  constexpr int kThreads = 4, kIncrements = 20;
  std::mutex mu;
  std::map<int64_t, int64_t> chain;  // new revision -> the revision it replaced; guarded by mu
  auto worker = [&] {
    for (int i = 0; i < kIncrements; ++i) {
      for (;;) {
        auto got = this->store().Get("c", "p", "n");
        ASSERT_TRUE(got.ok() && got->has_value()) << got.status().message();
        Document d = **got;
        const int64_t seen = d.revision;
        d.body = std::to_string(std::stoi(d.body) + 1);
        auto r = this->store().Commit({Mutation::Update(d, seen)});
        if (r.ok()) {
          std::lock_guard lock(mu);
          EXPECT_TRUE(chain.emplace((*r)[0], seen).second) << "revision " << (*r)[0] << " twice";
          break;
        }
        ASSERT_EQ(r.status().code(), ErrorCode::kConflict) << r.status().message();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  auto final_doc = this->Get("n");
  ASSERT_TRUE(final_doc.has_value());
  EXPECT_EQ(final_doc->body, std::to_string(kThreads * kIncrements));
  ASSERT_EQ(chain.size(), static_cast<size_t>(kThreads * kIncrements));
  EXPECT_EQ(final_doc->revision, chain.rbegin()->first) << "the last writer has the largest";
  int64_t previous = (*created)[0];
  for (const auto& [revision, replaced] : chain) {
    EXPECT_EQ(replaced, previous) << "the update to " << revision << " saw a stale document";
    previous = revision;
  }
}

TYPED_TEST_P(MetadataStoreConformance, ConcurrentCreatesOfOneDocumentLetExactlyOneWin) {
  constexpr int kThreads = 6;
  std::vector<ErrorCode> codes(kThreads, ErrorCode::kInternal);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      codes[t] = this->store()
                     .Commit({Mutation::Create(this->Doc("one", std::to_string(t)))})
                     .status()
                     .code();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(codes.begin(), codes.end(), ErrorCode::kOk), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), ErrorCode::kConflict), kThreads - 1);
  const int winner =
      static_cast<int>(std::find(codes.begin(), codes.end(), ErrorCode::kOk) - codes.begin());
  EXPECT_EQ(this->Get("one")->body, std::to_string(winner));
}

// Blind upserts and deletes of one document (deleted again and again, so many writes race for an
// absent row): whatever order they commit in, each later write gets a larger revision, so the
// upsert committed last holds the largest one handed out.
TYPED_TEST_P(MetadataStoreConformance, ConcurrentUpsertsEndWithTheLargestRevision) {
  constexpr int kThreads = 4, kWrites = 30;  // each thread's last write is an upsert
  std::mutex mu;
  std::map<int64_t, int> writers;  // revision of an upsert -> its thread; guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        if (i % 3 == 1) {
          auto deleted = this->store().Commit({Mutation::Delete("c", "p", "hot")});
          EXPECT_TRUE(deleted.ok()) << deleted.status().message();
          continue;
        }
        auto r = this->store().Commit({Mutation::Upsert(this->Doc("hot", std::to_string(t)))});
        ASSERT_TRUE(r.ok()) << r.status().message();
        std::lock_guard lock(mu);
        EXPECT_TRUE(writers.emplace((*r)[0], t).second) << "revision " << (*r)[0] << " twice";
      }
    });
  }
  for (auto& t : threads) t.join();
  auto final_doc = this->Get("hot");
  ASSERT_TRUE(final_doc.has_value());
  ASSERT_FALSE(writers.empty());
  EXPECT_EQ(final_doc->revision, writers.rbegin()->first);
  EXPECT_EQ(final_doc->body, std::to_string(writers.rbegin()->second));
}

// Two commits that each require the other's document to be absent and create their own cannot
// both succeed (write skew): whichever commits first makes the other's check fail.
TYPED_TEST_P(MetadataStoreConformance, ChecksOfAbsentDocumentsPreventWriteSkew) {
  constexpr int kPairs = 20;
  for (int i = 0; i < kPairs; ++i) {
    const std::string x = "x" + std::to_string(i), y = "y" + std::to_string(i);
    ErrorCode first = ErrorCode::kInternal, second = ErrorCode::kInternal;
    std::thread a([&] {
      first = this->store()
                  .Commit({Mutation::RequireRevision("c", "p", y, 0),
                           Mutation::Create(this->Doc(x, "a"))})
                  .status()
                  .code();
    });
    std::thread b([&] {
      second = this->store()
                   .Commit({Mutation::RequireRevision("c", "p", x, 0),
                            Mutation::Create(this->Doc(y, "b"))})
                   .status()
                   .code();
    });
    a.join();
    b.join();
    EXPECT_EQ(std::set<ErrorCode>({first, second}),
              std::set<ErrorCode>({ErrorCode::kOk, ErrorCode::kConflict}))
        << "pair " << i;
    EXPECT_NE(this->Get(x).has_value(), this->Get(y).has_value()) << "pair " << i;
  }
}

// hangar admin migrate copies a store with Scan and Import.
TYPED_TEST_P(MetadataStoreConformance, ScanVisitsEveryDocumentOnceInBinaryAddressOrder) {
  const std::vector<Document> docs = {
      {"b", "", "", "empty address", 0, 0},
      {"a", "p", "x", "1", 0, 0},
      {"a", std::string("p\xff", 2), "a", "2", 0, 0},
      {"a", "p", std::string("\x80", 1), "3", 0, 9},
      {"c", "q", "z", "4", 0, 0},
      {"a", "p", std::string("x\0", 2), "5", 0, 0},
      {"b", "p", "y", "6", 0, 0},
  };
  std::vector<Mutation> m;
  for (const Document& d : docs) m.push_back(Mutation::Create(d));
  ASSERT_TRUE(this->Commit(m).ok());
  std::vector<Document> expected = docs;
  std::sort(expected.begin(), expected.end(), [](const Document& l, const Document& r) {
    return std::tie(l.collection, l.partition, l.id) < std::tie(r.collection, r.partition, r.id);
  });
  std::vector<Document> scanned;
  std::optional<Document> after;
  for (;;) {
    auto page = this->store().Scan(after ? &*after : nullptr, 2);
    ASSERT_TRUE(page.ok()) << page.status().message();
    ASSERT_LE(page->size(), 2u);
    if (page->empty()) break;
    scanned.insert(scanned.end(), page->begin(), page->end());
    after = page->back();
  }
  ASSERT_EQ(scanned.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(scanned[i].collection, expected[i].collection) << i;
    EXPECT_TRUE(scanned[i].partition == expected[i].partition) << i;
    EXPECT_TRUE(scanned[i].id == expected[i].id) << i;
    EXPECT_EQ(scanned[i].body, expected[i].body) << i;
    EXPECT_EQ(scanned[i].due_at_ms, expected[i].due_at_ms) << i;
    EXPECT_EQ(scanned[i].revision, this->store().Get(expected[i].collection, expected[i].partition,
                                                     expected[i].id)
                                       ->value()
                                       .revision);
  }
}

TYPED_TEST_P(MetadataStoreConformance, ImportKeepsRevisionsAndLaterWritesGoAboveThem) {
  ASSERT_TRUE(this->Commit({Mutation::Create(this->Doc("replaced", "old"))}).ok());
  const std::vector<Document> imported = {
      {"c", "p", "replaced", "new", 5000, 0},
      {"c", "p", "due", "soon", 42, 1234},
      {"d", std::string("\0p", 2), "x", std::string("\0body", 5), 7, 0},
  };
  ASSERT_TRUE(this->store().Import(imported).ok());
  this->Reopen();
  for (const Document& d : imported) {
    auto got = this->store().Get(d.collection, d.partition, d.id);
    ASSERT_TRUE(got.ok() && got->has_value()) << d.id;
    EXPECT_EQ((*got)->body, d.body);
    EXPECT_EQ((*got)->revision, d.revision);
    EXPECT_EQ((*got)->due_at_ms, d.due_at_ms);
  }
  // Conditional writes work on imported revisions, and new ones are never below them.
  EXPECT_EQ(this->CodeOf({Mutation::Update(this->Doc("due", "x"), 41)}), ErrorCode::kConflict);
  auto next = this->Commit({Mutation::Update(this->Doc("due", "x"), 42)});
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_GT((*next)[0], 5000);
}

REGISTER_TYPED_TEST_SUITE_P(
    MetadataStoreConformance, ScanVisitsEveryDocumentOnceInBinaryAddressOrder,
    ImportKeepsRevisionsAndLaterWritesGoAboveThem, CreateThenGetReturnsBodyAndRevision,
    CreateOfAnExistingDocumentConflicts, UpdateChecksTheRevision,
    UpsertAndDeleteWriteWhetherPresentOrNot, MustExistFailsForAnAbsentDocument,
    DeleteIfRevisionDeletesOnlyThatRevision, AFailedPreconditionRollsBackTheWholeCommit,
    ACheckMutationGuardsACommitWithoutWriting, LaterMutationsOfACommitSeeTheEarlierOnes,
    Item17RevisionsAreNeverReusedAfterADelete, RevisionsGrowWithEveryWriteOfAnyDocument,
    ListIsInBinaryOrderWithPrefixStartAfterAndLimit,
    ListDueReturnsOnlyDocumentsWhoseTimeHasComeEarliestFirst,
    EveryByteOfBodiesAndAddressesRoundTrips, CommittedDataSurvivesReopen,
    ConcurrentRevisionCheckedUpdatesFormOneChain, ConcurrentCreatesOfOneDocumentLetExactlyOneWin,
    ConcurrentUpsertsEndWithTheLargestRevision, ChecksOfAbsentDocumentsPreventWriteSkew);

}  // namespace hangar::store
