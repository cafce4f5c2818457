#include "app/cluster_coherence.h"

#include <gtest/gtest.h>

namespace hangar::app {
namespace {

// A store that is only an epoch: what ChangeEpoch answers next.
class EpochStore final : public store::MetadataStore {
 public:
  Result<int64_t> next = int64_t{0};
  Result<std::optional<store::Document>> Get(std::string_view, std::string_view,
                                             std::string_view) override {
    return std::optional<store::Document>();
  }
  Result<std::vector<store::Document>> List(std::string_view, std::string_view,
                                            const store::ListOptions&) override {
    return std::vector<store::Document>();
  }
  Result<std::vector<store::Document>> ListDue(std::string_view, int64_t, size_t) override {
    return std::vector<store::Document>();
  }
  Result<std::vector<int64_t>> Commit(const std::vector<store::Mutation>&) override {
    return std::vector<int64_t>();
  }
  Status Scrub() override { return Status::Ok(); }
  Result<int64_t> ChangeEpoch() override { return next; }
};

TEST(ClusterCoherenceTest, CachesAreDroppedOnlyWhenTheEpochMovesForward) {
  EpochStore store;
  int drops = 0;
  ClusterCoherence coherence(store, {[&] { ++drops; }, [&] { ++drops; }});
  ASSERT_TRUE(coherence.Sync().ok());
  EXPECT_EQ(drops, 2) << "the first look drops whatever was cached before it";
  ASSERT_TRUE(coherence.Sync().ok());
  EXPECT_EQ(drops, 2) << "unchanged";
  store.next = int64_t{5};
  ASSERT_TRUE(coherence.Sync().ok());
  EXPECT_EQ(drops, 4);
  store.next = int64_t{3};  // read before the 5 was acted on
  ASSERT_TRUE(coherence.Sync().ok());
  EXPECT_EQ(drops, 4);
  EXPECT_EQ(coherence.invalidations(), 2u);
}

TEST(ClusterCoherenceTest, ANodeThatCannotReadTheEpochServesNothing) {
  EpochStore store;
  int drops = 0;
  ClusterCoherence coherence(store, {[&] { ++drops; }});
  store.next = InternalError("connection refused");
  Status refused = coherence.Sync();
  EXPECT_EQ(refused.code(), ErrorCode::kNodeOutOfStep);
  EXPECT_NE(refused.message().find("connection refused"), std::string::npos) << refused.message();
  EXPECT_EQ(drops, 0);
  store.next = int64_t{1};
  EXPECT_TRUE(coherence.Sync().ok()) << "serving again once it can";
  EXPECT_EQ(drops, 1);
}

}  // namespace
}  // namespace hangar::app
