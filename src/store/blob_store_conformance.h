#pragma once
// What every BlobStore must do, as a googletest suite that each backend's test instantiates:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Fs, BlobStoreConformance, FsHarness);
//
// (ctest then names the tests Fs.<Test><hangar::store::FsHarness>.) A harness is
// default-constructible and provides
//   static constexpr size_t kStripe;  the backend's layout boundary, which sizes and reads straddle
//   Status Start();                   a fresh, empty store (a failure fails the test with its
//   message) BlobStore& store();
// and cleans up in its destructor. Test bytes are pseudo-random and compared exactly.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/blob_store.h"

namespace hangar::store {

template <typename Harness>
class BlobStoreConformance : public ::testing::Test {
 protected:
  static constexpr size_t kStripe = Harness::kStripe;

  void SetUp() override {
    Status started = harness_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  BlobStore& store() { return harness_.store(); }

  static std::string RandomBytes(size_t size, uint64_t seed) {
    std::mt19937_64 random(seed * 7919 + size);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(random());
    return out;
  }

  // Writes `data` in appends of `chunk` bytes (all at once when 0) and commits.
  std::string Write(const std::string& data, size_t chunk = 1000) {
    auto writer = store().Create();
    EXPECT_TRUE(writer.ok()) << writer.status().message();
    if (!writer.ok()) return "";
    size_t step = chunk == 0 ? std::max<size_t>(data.size(), 1) : chunk;
    for (size_t done = 0; done < data.size(); done += step) {
      size_t n = std::min(step, data.size() - done);
      Status appended = (*writer)->Append(std::span<const char>(data.data() + done, n));
      EXPECT_TRUE(appended.ok()) << appended.message();
    }
    EXPECT_EQ((*writer)->size(), data.size());
    auto id = (*writer)->Commit();
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : "";
  }

  // Reads [offset, offset + length) as far as the blob goes, looping over short reads.
  std::string Read(std::string_view id, uint64_t offset, size_t length) {
    auto reader = store().Open(id);
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    if (!reader.ok()) return "<unreadable>";
    std::string out(length, '\0');
    size_t done = 0;
    while (done < length) {
      auto n = (*reader)->ReadAt(offset + done, std::span<char>(out.data() + done, length - done));
      EXPECT_TRUE(n.ok()) << n.status().message();
      if (!n.ok() || *n == 0) break;
      done += *n;
    }
    out.resize(done);
    return out;
  }

  std::string ReadAll(std::string_view id) {
    auto reader = store().Open(id);
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    if (!reader.ok()) return "<unreadable>";
    return Read(id, 0, (*reader)->size());
  }

  std::set<std::string> Staged() {
    auto ids = store().ListStaged();
    EXPECT_TRUE(ids.ok()) << ids.status().message();
    return ids.ok() ? std::set<std::string>(ids->begin(), ids->end()) : std::set<std::string>{};
  }

  std::map<std::string, TimePoint> Published() {
    std::map<std::string, TimePoint> seen;
    Status s = store().ForEachPublished([&](std::string_view id, TimePoint written) {
      EXPECT_TRUE(seen.emplace(std::string(id), written).second) << "visited twice: " << id;
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return seen;
  }

  static std::string UnusedId() { return std::string(32, 'a'); }

  Harness harness_;
};

TYPED_TEST_SUITE_P(BlobStoreConformance);

TYPED_TEST_P(BlobStoreConformance, RoundTripsBlobsOfEverySizeAroundTheStripe) {
  constexpr size_t s = TestFixture::kStripe;
  for (size_t size : {size_t{0}, size_t{1}, s - 1, s, s + 1, 3 * s + s / 3}) {
    for (size_t chunk : {size_t{0}, size_t{1000}}) {
      SCOPED_TRACE("size " + std::to_string(size) + ", appends of " + std::to_string(chunk));
      const std::string data = this->RandomBytes(size, chunk);
      const std::string id = this->Write(data, chunk);
      auto reader = this->store().Open(id);
      ASSERT_TRUE(reader.ok()) << reader.status().message();
      EXPECT_EQ((*reader)->size(), size);
      EXPECT_TRUE(this->ReadAll(id) == data) << "bytes differ";
    }
  }
}

TYPED_TEST_P(BlobStoreConformance, ReadAtServesRangesAcrossStripeBoundaries) {
  constexpr size_t s = TestFixture::kStripe;
  const std::string data = this->RandomBytes(3 * s + s / 3, 1);
  const std::string id = this->Write(data);
  struct Range {
    uint64_t offset;
    size_t length;
  };
  std::vector<Range> ranges = {
      {0, 1},           {s - 1, 2},           {s - 5, s + 10}, {2 * s, s}, {s / 2, 2 * s + 7},
      {0, data.size()}, {data.size() - 1, 10}};
  std::mt19937_64 random(42);
  for (int i = 0; i < 40; ++i) {
    uint64_t offset = random() % data.size();
    ranges.push_back({offset, static_cast<size_t>(random() % (2 * s))});
  }
  for (const Range& r : ranges) {
    SCOPED_TRACE("offset " + std::to_string(r.offset) + " length " + std::to_string(r.length));
    EXPECT_TRUE(this->Read(id, r.offset, r.length) == data.substr(r.offset, r.length))
        << "bytes differ";
  }
  auto reader = this->store().Open(id);
  ASSERT_TRUE(reader.ok());
  char buffer[16];
  EXPECT_EQ(*(*reader)->ReadAt(data.size(), buffer), 0u) << "at the end";
  EXPECT_EQ(*(*reader)->ReadAt(data.size() + 100, buffer), 0u) << "past the end";
  EXPECT_EQ(*(*reader)->ReadAt(0, std::span<char>()), 0u) << "into nothing";
}

TYPED_TEST_P(BlobStoreConformance, ACommittedBlobIsStagedUntilPublished) {
  const std::string data = this->RandomBytes(TestFixture::kStripe + 3, 2);
  const std::string id = this->Write(data);
  EXPECT_EQ(this->Staged(), std::set<std::string>{id});
  EXPECT_FALSE(this->Published().contains(id));
  EXPECT_TRUE(this->ReadAll(id) == data) << "a staged blob is readable";

  ASSERT_TRUE(this->store().Publish(id).ok());
  EXPECT_TRUE(this->Staged().empty());
  EXPECT_TRUE(this->Published().contains(id));
  EXPECT_TRUE(this->ReadAll(id) == data) << "a published blob is readable";

  Status again = this->store().Publish(id);
  EXPECT_TRUE(again.ok()) << "publishing twice is harmless: " << again.message();
  EXPECT_TRUE(this->Staged().empty());
  EXPECT_EQ(this->Published().size(), 1u);
}

TYPED_TEST_P(BlobStoreConformance, PublishingOrOpeningAMissingBlobFails) {
  EXPECT_FALSE(this->store().Publish(this->UnusedId()).ok());
  auto reader = this->store().Open(this->UnusedId());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), ErrorCode::kInternal);
  EXPECT_NE(reader.status().message().find("blob missing"), std::string::npos)
      << reader.status().message();
}

TYPED_TEST_P(BlobStoreConformance, DeleteRemovesStagedOrPublishedBlobsAndToleratesMissingOnes) {
  const std::string staged = this->Write(this->RandomBytes(2 * TestFixture::kStripe + 1, 3));
  const std::string published = this->Write(this->RandomBytes(10, 4));
  ASSERT_TRUE(this->store().Publish(published).ok());

  ASSERT_TRUE(this->store().Delete(staged).ok());
  ASSERT_TRUE(this->store().Delete(published).ok());
  EXPECT_FALSE(this->store().Open(staged).ok());
  EXPECT_FALSE(this->store().Open(published).ok());
  EXPECT_TRUE(this->Staged().empty());
  EXPECT_TRUE(this->Published().empty());

  EXPECT_TRUE(this->store().Delete(staged).ok()) << "deleting again";
  EXPECT_TRUE(this->store().Delete(this->UnusedId()).ok()) << "deleting what never was";
}

TYPED_TEST_P(BlobStoreConformance, DeleteDurablyRemovesEveryBlobGiven) {
  std::vector<std::string> ids;
  for (size_t size : {size_t{0}, size_t{5}, 2 * TestFixture::kStripe + 9}) {
    ids.push_back(this->Write(this->RandomBytes(size, 5)));
  }
  ASSERT_TRUE(this->store().Publish(ids[0]).ok());
  ASSERT_TRUE(this->store().Publish(ids[2]).ok());
  const std::string kept = this->Write("kept");
  ids.push_back(this->UnusedId());

  Status deleted = this->store().DeleteDurably(ids);
  ASSERT_TRUE(deleted.ok()) << deleted.message();
  for (const std::string& id : ids) EXPECT_FALSE(this->store().Open(id).ok()) << id;
  EXPECT_EQ(this->Staged(), std::set<std::string>{kept});
  EXPECT_TRUE(this->Published().empty());
  EXPECT_EQ(this->ReadAll(kept), "kept");
  EXPECT_TRUE(this->store().DeleteDurably({}).ok());
}

TYPED_TEST_P(BlobStoreConformance, AnAbandonedWriterLeavesNothing) {
  constexpr size_t s = TestFixture::kStripe;
  for (size_t size : {size_t{0}, size_t{7}, s, 5 * s + 3}) {
    SCOPED_TRACE("size " + std::to_string(size));
    auto writer = this->store().Create();
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    const std::string data = this->RandomBytes(size, 6);
    for (size_t done = 0; done < size; done += 1000) {
      size_t n = std::min<size_t>(1000, size - done);
      ASSERT_TRUE((*writer)->Append(std::span<const char>(data.data() + done, n)).ok());
    }
    writer->reset();
    EXPECT_TRUE(this->Staged().empty());
    EXPECT_TRUE(this->Published().empty());
  }
}

TYPED_TEST_P(BlobStoreConformance, ForEachPublishedVisitsExactlyThePublishedBlobs) {
  const auto before = std::chrono::system_clock::now();
  std::set<std::string> published;
  for (int i = 0; i < 4; ++i) {
    std::string id = this->Write(this->RandomBytes(i * TestFixture::kStripe + 1, 7));
    ASSERT_TRUE(this->store().Publish(id).ok());
    published.insert(id);
  }
  const std::string gone = *published.begin();
  ASSERT_TRUE(this->store().Delete(gone).ok());
  published.erase(gone);
  const std::string staged = this->Write("staged");
  const auto after = std::chrono::system_clock::now();

  std::map<std::string, TimePoint> seen = this->Published();
  std::set<std::string> seen_ids;
  for (const auto& [id, written] : seen) {
    seen_ids.insert(id);
    // Backends may keep whole seconds.
    EXPECT_GE(written, before - std::chrono::seconds(1)) << id;
    EXPECT_LE(written, after + std::chrono::seconds(1)) << id;
  }
  EXPECT_EQ(seen_ids, published);
  EXPECT_EQ(this->Staged(), std::set<std::string>{staged});
}

TYPED_TEST_P(BlobStoreConformance, ConcurrentWritersKeepTheirOwnBytes) {
  constexpr int kThreads = 6, kBlobsEach = 3;
  std::vector<std::vector<std::pair<std::string, std::string>>> written(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &written] {
      std::mt19937_64 random(t);
      for (int i = 0; i < kBlobsEach; ++i) {
        std::string data = this->RandomBytes(random() % (3 * TestFixture::kStripe), t * 100 + i);
        std::string id = this->Write(data, 1 + random() % 5000);
        EXPECT_TRUE(this->store().Publish(id).ok());
        written[t].emplace_back(std::move(id), std::move(data));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::set<std::string> ids;
  for (const auto& blobs : written) {
    for (const auto& [id, data] : blobs) {
      ids.insert(id);
      EXPECT_TRUE(this->ReadAll(id) == data) << "bytes differ in " << id;
    }
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kBlobsEach}) << "ids are unique";
  EXPECT_TRUE(this->Staged().empty());
  EXPECT_EQ(this->Published().size(), ids.size());
}

TYPED_TEST_P(BlobStoreConformance, RejectsIdsThatAreNotBlobIds) {
  for (std::string_view id :
       {"../../etc/passwd", "short", "", "hangar.staged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    EXPECT_FALSE(this->store().Open(id).ok()) << id;
    EXPECT_FALSE(this->store().Delete(id).ok()) << id;
    EXPECT_FALSE(this->store().Publish(id).ok()) << id;
    EXPECT_FALSE(this->store().CreateWithId(id).ok()) << id;
  }
}

// hangar admin migrate copies blobs under their ids.
TYPED_TEST_P(BlobStoreConformance, CreateWithIdWritesABlobOfThatIdUnlessItExists) {
  const std::string data = this->RandomBytes(2 * TestFixture::kStripe + 5, 9);
  const std::string id = "0123456789abcdef0123456789abcdef";
  auto writer = this->store().CreateWithId(id);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  ASSERT_TRUE((*writer)->Append(std::span<const char>(data.data(), data.size())).ok());
  auto committed = (*writer)->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().message();
  EXPECT_EQ(*committed, id);
  EXPECT_EQ(this->Staged(), std::set<std::string>{id});
  ASSERT_TRUE(this->store().Publish(id).ok());
  EXPECT_TRUE(this->ReadAll(id) == data);
  EXPECT_FALSE(this->store().CreateWithId(id).ok()) << "a published blob of that id exists";
  const std::string staged = this->Write("staged");
  EXPECT_FALSE(this->store().CreateWithId(staged).ok()) << "a staged blob of that id exists";
  EXPECT_TRUE(this->ReadAll(id) == data) << "refusing left the blob as it was";
}

REGISTER_TYPED_TEST_SUITE_P(BlobStoreConformance, RoundTripsBlobsOfEverySizeAroundTheStripe,
                            ReadAtServesRangesAcrossStripeBoundaries,
                            ACommittedBlobIsStagedUntilPublished,
                            PublishingOrOpeningAMissingBlobFails,
                            DeleteRemovesStagedOrPublishedBlobsAndToleratesMissingOnes,
                            DeleteDurablyRemovesEveryBlobGiven, AnAbandonedWriterLeavesNothing,
                            ForEachPublishedVisitsExactlyThePublishedBlobs,
                            ConcurrentWritersKeepTheirOwnBytes, RejectsIdsThatAreNotBlobIds,
                            CreateWithIdWritesABlobOfThatIdUnlessItExists);

}  // namespace hangar::store
