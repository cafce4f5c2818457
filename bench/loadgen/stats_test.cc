#include "loadgen/stats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "loadgen/options.h"

namespace hangar::bench {
namespace {

TEST(SummarizeTest, PercentilesAreExactRanks) {
  std::vector<uint32_t> us;
  for (uint32_t i = 1000; i >= 1; --i) us.push_back(i * 1000);  // 1 ms .. 1000 ms, reversed
  LatencySummary s = Summarize(us);
  EXPECT_DOUBLE_EQ(s.p50_ms, 501);
  EXPECT_DOUBLE_EQ(s.p99_ms, 991);
  EXPECT_DOUBLE_EQ(s.p999_ms, 1000);
  EXPECT_DOUBLE_EQ(s.max_ms, 1000);
  EXPECT_DOUBLE_EQ(s.mean_ms, 500.5);
}

TEST(SummarizeTest, NoLatenciesGiveZeros) {
  std::vector<uint32_t> none;
  LatencySummary s = Summarize(none);
  EXPECT_EQ(s.p50_ms, 0);
  EXPECT_EQ(s.max_ms, 0);
}

TEST(RunStatsTest, MergeAddsCountsAndKeepsTheFirstError) {
  RunStats a;
  a.measured = 2;
  a.latencies_us = {1, 2};
  RunStats b;
  b.measured = 1;
  b.latencies_us = {3};
  b.RecordError("NoSuchBucket", "obj/1: HTTP 404");
  b.RecordError("NoSuchBucket", "obj/2: HTTP 404");
  b.RecordError("timeout", "obj/3: no complete response");
  a.Merge(b);
  a.RecordError("connection", "read: reset");
  EXPECT_EQ(a.measured, 3u);
  EXPECT_EQ(a.latencies_us.size(), 3u);
  EXPECT_EQ(a.errors, 4u);
  EXPECT_EQ(a.first_error, "obj/1: HTTP 404");
  EXPECT_EQ(a.errors_by_code.at("NoSuchBucket"), 2u);
  EXPECT_EQ(a.errors_by_code.at("timeout"), 1u);
  EXPECT_EQ(a.errors_by_code.at("connection"), 1u);
}

// ParseCommandLine: shared options, a tool's option and flag, and what it refuses.
bool Parse(std::vector<const char*> args, LoadOptions& load, std::string& tool_seen) {
  args.insert(args.begin(), "tool");
  return ParseCommandLine(static_cast<int>(args.size()), const_cast<char**>(args.data()), "tool",
                          {"--flag"}, load, [&](std::string_view name, const std::string& value) {
                            if (name != "--mine" && name != "--flag") return false;
                            tool_seen += std::string(name) + "=" + value + ";";
                            return true;
                          });
}

TEST(ParseCommandLineTest, SplitsSharedAndToolOptions) {
  LoadOptions load;
  std::string seen;
  ASSERT_TRUE(Parse({"--port", "9000", "--mine", "x", "--flag", "--server-pid", "42",
                     "--access-key-id", "a", "--secret-access-key", "s", "--connections", "8"},
                    load, seen));
  EXPECT_EQ(load.port, 9000);
  EXPECT_EQ(load.server_pid, 42);
  EXPECT_EQ(load.connections, 8);
  EXPECT_EQ(seen, "--mine=x;--flag=;");
  EXPECT_TRUE(LoadOptionsValid(load));
  load.threads = 9;  // more threads than connections
  EXPECT_FALSE(LoadOptionsValid(load));
}

TEST(ParseCommandLineTest, RefusesUnknownMissingAndBadValues) {
  LoadOptions load;
  std::string seen;
  EXPECT_FALSE(Parse({"--nope", "1"}, load, seen));
  EXPECT_FALSE(Parse({"--port"}, load, seen));
  EXPECT_FALSE(Parse({"--port", "abc"}, load, seen));
  EXPECT_FALSE(Parse({"--help"}, load, seen));
}

}  // namespace
}  // namespace hangar::bench
