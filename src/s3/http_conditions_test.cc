#include "s3/http_conditions.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <random>
#include <string>

#include "common/strings.h"

namespace hangar::s3 {
namespace {

using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::string FieldOf(const Status& status, std::string_view name) {
  for (const auto& [key, value] : status.fields()) {
    if (key == name) return value;
  }
  return "<missing>";
}

// --- Range ---------------------------------------------------------------------------------------

struct RangeCase {
  std::string header;
  uint64_t size;
  RangeKind kind;
  uint64_t first = 0;
  uint64_t last = 0;
};

std::string KindName(RangeKind kind) {
  switch (kind) {
    case RangeKind::kNone:
      return "none";
    case RangeKind::kSatisfiable:
      return "satisfiable";
    case RangeKind::kUnsatisfiable:
      return "unsatisfiable";
  }
  return "?";
}

void ExpectRange(const RangeCase& c) {
  RangeResult r = ParseRange(c.header, c.size);
  EXPECT_EQ(KindName(r.kind), KindName(c.kind)) << "'" << c.header << "' size " << c.size;
  if (r.kind == RangeKind::kSatisfiable && c.kind == RangeKind::kSatisfiable) {
    EXPECT_EQ(r.range, (ByteRange{c.first, c.last}))
        << "'" << c.header << "' size " << c.size << " got " << r.range.first << "-"
        << r.range.last;
  }
}

TEST(RangeTest, SatisfiableRangesAreClampedToTheObject) {
  const RangeCase cases[] = {
      {"bytes=0-9", 100, RangeKind::kSatisfiable, 0, 9},
      {"bytes=0-0", 100, RangeKind::kSatisfiable, 0, 0},
      {"bytes=10-19", 100, RangeKind::kSatisfiable, 10, 19},
      {"bytes=0-99", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=0-100", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=90-200", 100, RangeKind::kSatisfiable, 90, 99},
      {"bytes=99-99", 100, RangeKind::kSatisfiable, 99, 99},
      {"bytes=5-5", 100, RangeKind::kSatisfiable, 5, 5},
      {"bytes=0-0", 1, RangeKind::kSatisfiable, 0, 0},
      // Open ranges.
      {"bytes=5-", 100, RangeKind::kSatisfiable, 5, 99},
      {"bytes=0-", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=99-", 100, RangeKind::kSatisfiable, 99, 99},
      {"bytes=0-", 1, RangeKind::kSatisfiable, 0, 0},
      // Suffix ranges; longer than the object means the whole object.
      {"bytes=-5", 100, RangeKind::kSatisfiable, 95, 99},
      {"bytes=-1", 100, RangeKind::kSatisfiable, 99, 99},
      {"bytes=-100", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=-101", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=-1000", 10, RangeKind::kSatisfiable, 0, 9},
      {"bytes=-1", 1, RangeKind::kSatisfiable, 0, 0},
      // Leading zeros are just digits.
      {"bytes=007-0010", 100, RangeKind::kSatisfiable, 7, 10},
      // The unit is case-insensitive (RFC 9110 §14.1).
      {"BYTES=0-9", 100, RangeKind::kSatisfiable, 0, 9},
      {"Bytes=0-9", 100, RangeKind::kSatisfiable, 0, 9},
  };
  for (const RangeCase& c : cases) ExpectRange(c);
}

TEST(RangeTest, StartAtOrPastTheEndIsUnsatisfiable) {
  const RangeCase cases[] = {
      {"bytes=100-", 100, RangeKind::kUnsatisfiable},
      {"bytes=100-100", 100, RangeKind::kUnsatisfiable},
      {"bytes=100-200", 100, RangeKind::kUnsatisfiable},
      {"bytes=1024-4096", 8, RangeKind::kUnsatisfiable},  // recorded: test_invalid_range_error
      {"bytes=1-", 1, RangeKind::kUnsatisfiable},
      // A zero-length suffix selects nothing.
      {"bytes=-0", 100, RangeKind::kUnsatisfiable},
      {"bytes=-000", 100, RangeKind::kUnsatisfiable},
      // Start past the end is reported before the reversed-range check (LocalStack's order).
      {"bytes=10-5", 5, RangeKind::kUnsatisfiable},
  };
  for (const RangeCase& c : cases) ExpectRange(c);
}

TEST(RangeTest, EmptyObjectHasNoSatisfiableByteRange) {
  const RangeCase cases[] = {
      {"bytes=0-", 0, RangeKind::kUnsatisfiable},
      {"bytes=0-0", 0, RangeKind::kUnsatisfiable},
      {"bytes=0-10", 0, RangeKind::kUnsatisfiable},
      {"bytes=1-2", 0, RangeKind::kUnsatisfiable},
      {"bytes=-0", 0, RangeKind::kUnsatisfiable},
      // A suffix of an empty object is ignored: the whole (empty) object is sent with 200.
      {"bytes=-5", 0, RangeKind::kNone},
      {"bytes=-1", 0, RangeKind::kNone},
      // Unparsable stays ignored whatever the size.
      {"bytes=abc", 0, RangeKind::kNone},
  };
  for (const RangeCase& c : cases) ExpectRange(c);
}

TEST(RangeTest, InvalidOrMultipleRangesAreIgnored) {
  const RangeCase cases[] = {
      {"", 100, RangeKind::kNone},
      {"   ", 100, RangeKind::kNone},
      {"bytes", 100, RangeKind::kNone},
      {"bytes=", 100, RangeKind::kNone},
      {"bytes=-", 100, RangeKind::kNone},
      {"bytes=5", 100, RangeKind::kNone},
      {"=0-9", 100, RangeKind::kNone},
      {"0-9", 100, RangeKind::kNone},
      {"items=0-9", 100, RangeKind::kNone},  // another unit
      {"bytes 0-9", 100, RangeKind::kNone},
      {"bytes=10-5", 100, RangeKind::kNone},  // reversed
      {"bytes=1-0", 100, RangeKind::kNone},
      {"bytes=0-1,5-6", 100, RangeKind::kNone},  // several ranges: S3 serves one range only
      {"bytes=0-1, 5-6", 100, RangeKind::kNone},
      {"bytes=0-9,", 100, RangeKind::kNone},
      {"bytes=-5,0-1", 100, RangeKind::kNone},
      {"bytes=a-b", 100, RangeKind::kNone},
      {"bytes=1-2-3", 100, RangeKind::kNone},
      {"bytes=--5", 100, RangeKind::kNone},
      {"bytes=+1-5", 100, RangeKind::kNone},
      {"bytes=-+5", 100, RangeKind::kNone},
      {"bytes=0x10-20", 100, RangeKind::kNone},
      {"bytes=1.5-2", 100, RangeKind::kNone},
      {"bytes=1e2-", 100, RangeKind::kNone},
      {"bytes=0-9=", 100, RangeKind::kNone},
      {"bytes==0-9", 100, RangeKind::kNone},
      {"bytes=0 9", 100, RangeKind::kNone},
      {"bytes=\xd9\xa1-2", 100, RangeKind::kNone},  // a non-ASCII digit
  };
  for (const RangeCase& c : cases) ExpectRange(c);
}

TEST(RangeTest, ToleratesWhitespaceAroundTheParts) {
  const RangeCase cases[] = {
      {"  bytes=0-9  ", 100, RangeKind::kSatisfiable, 0, 9},
      {"\tbytes=0-9\t", 100, RangeKind::kSatisfiable, 0, 9},
      {"bytes = 0 - 9", 100, RangeKind::kSatisfiable, 0, 9},
      {"bytes= -5", 100, RangeKind::kSatisfiable, 95, 99},
      {"bytes=5- ", 100, RangeKind::kSatisfiable, 5, 99},
      {"bytes=\t10-\t19", 100, RangeKind::kSatisfiable, 10, 19},
  };
  for (const RangeCase& c : cases) ExpectRange(c);
}

TEST(RangeTest, HugeNumbersSaturateInsteadOfOverflowing) {
  const RangeCase cases[] = {
      {"bytes=99999999999999999999999-", 100, RangeKind::kUnsatisfiable},
      {"bytes=18446744073709551615-", 100, RangeKind::kUnsatisfiable},
      {"bytes=18446744073709551616-", 100, RangeKind::kUnsatisfiable},  // 2^64
      {"bytes=0-99999999999999999999999", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=0-18446744073709551616", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=-99999999999999999999999", 100, RangeKind::kSatisfiable, 0, 99},
      {"bytes=-18446744073709551616", 100, RangeKind::kSatisfiable, 0, 99},
      // Objects near the top of the range still work.
      {"bytes=18446744073709551613-", kMax, RangeKind::kSatisfiable, kMax - 2, kMax - 1},
      {"bytes=0-", kMax, RangeKind::kSatisfiable, 0, kMax - 1},
      {"bytes=-18446744073709551615", kMax, RangeKind::kSatisfiable, 0, kMax - 1},
      {"bytes=-99999999999999999999999", kMax, RangeKind::kSatisfiable, 0, kMax - 1},
      {"bytes=18446744073709551614-99999999999999999999", kMax, RangeKind::kSatisfiable, kMax - 1,
       kMax - 1},
      {"bytes=18446744073709551615-", kMax, RangeKind::kUnsatisfiable},
  };
  for (const RangeCase& c : cases) ExpectRange(c);
}

TEST(RangeTest, RandomRangesStayInsideTheObject) {
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 20000; ++i) {
    uint64_t size = rng() % 50;
    uint64_t a = rng() % 60;
    uint64_t b = rng() % 60;
    std::string header;
    switch (rng() % 3) {
      case 0:
        header = "bytes=" + std::to_string(a) + "-" + std::to_string(b);
        break;
      case 1:
        header = "bytes=" + std::to_string(a) + "-";
        break;
      default:
        header = "bytes=-" + std::to_string(a);
        break;
    }
    RangeResult r = ParseRange(header, size);
    if (r.kind == RangeKind::kSatisfiable) {
      ASSERT_LE(r.range.first, r.range.last) << header << " size " << size;
      ASSERT_LT(r.range.last, size) << header << " size " << size;
      ASSERT_EQ(r.range.length(), r.range.last - r.range.first + 1);
    }
  }
}

TEST(RangeTest, InvalidRangeErrorCarriesTheRequestAndTheSize) {
  Status status = InvalidRangeError("bytes=1024-4096", 8);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidRange);
  EXPECT_EQ(status.message(), "The requested range is not satisfiable");
  EXPECT_EQ(FieldOf(status, "RangeRequested"), "bytes=1024-4096");
  EXPECT_EQ(FieldOf(status, "ActualObjectSize"), "8");
  EXPECT_EQ(WireOf(status.code()).xml_status, 416);
}

TEST(RangeTest, ContentRangeValueNamesBothEndsAndTheSize) {
  EXPECT_EQ(ContentRangeValue({0, 9}, 100), "bytes 0-9/100");
  EXPECT_EQ(ContentRangeValue({99, 99}, 100), "bytes 99-99/100");
  EXPECT_EQ(ContentRangeValue({0, kMax - 1}, kMax),
            "bytes 0-18446744073709551614/18446744073709551615");
  EXPECT_EQ((ByteRange{5, 9}).length(), 5u);
}

// --- ETag lists ----------------------------------------------------------------------------------

TEST(EtagTest, MatchesListsQuotesWeakPrefixesAndWildcard) {
  const std::string etag = "\"8d777f385d3dfec8815d20f7496026dc\"";
  struct Case {
    std::string header;
    bool match;
  };
  const Case cases[] = {
      {"\"8d777f385d3dfec8815d20f7496026dc\"", true},
      {"8d777f385d3dfec8815d20f7496026dc", true},  // AWS accepts the ETag without quotes
      {"W/\"8d777f385d3dfec8815d20f7496026dc\"", true},
      {"  \"8d777f385d3dfec8815d20f7496026dc\"  ", true},
      {"*", true},
      {" * ", true},
      {"\"other\", \"8d777f385d3dfec8815d20f7496026dc\"", true},
      {"\"other\",\"8d777f385d3dfec8815d20f7496026dc\"", true},
      {"other, 8d777f385d3dfec8815d20f7496026dc", true},
      {"\"other\", W/\"8d777f385d3dfec8815d20f7496026dc\", \"third\"", true},
      {"\"8d777f385d3dfec8815d20f7496026dc\",", true},
      {"\"8d777f385d3dfec8815d20f7496026dd\"", false},
      {"8D777F385D3DFEC8815D20F7496026DC", false},  // entity tags compare case-sensitively
      {"\"8d777f385d3dfec8815d20f7496026dc-1\"", false},
      {"\"8d777f385d3dfec8815d20f7496026d\"", false},
      {"\"other\", \"third\"", false},
      {"", false},
      {"\"\"", false},
      {",", false},
      {"\"8d777f385d3dfec8815d20f7496026dc", false},  // unterminated quote
      {"etag123", false},
  };
  for (const Case& c : cases) EXPECT_EQ(EtagListMatches(c.header, etag), c.match) << c.header;
}

TEST(EtagTest, MatchesObjectEtagGivenWithoutQuotesAndMultipartEtags) {
  EXPECT_TRUE(EtagListMatches("\"abc\"", "abc"));
  EXPECT_TRUE(EtagListMatches("\"93a0cb8e-2\"", "\"93a0cb8e-2\""));
  EXPECT_FALSE(EtagListMatches("\"93a0cb8e\"", "\"93a0cb8e-2\""));
  // A quoted entity tag may contain a comma; it is read to its closing quote.
  EXPECT_TRUE(EtagListMatches("\"a,b\"", "\"a,b\""));
  EXPECT_FALSE(EtagListMatches("\"a,b\"", "\"a\""));
  EXPECT_FALSE(EtagListMatches("\"a,b\"", "\"b\""));
}

// --- Conditional requests ------------------------------------------------------------------------

// The object: ETag "8d77...", Last-Modified 2024-05-01 12:00:00.750 UTC (stored with milliseconds;
// clients only ever see and echo the whole second). "Now" is a day later.
const std::string kEtag = "\"8d777f385d3dfec8815d20f7496026dc\"";
const TimePoint kModified = FromUnixMillis(1714564800750);
const TimePoint kNow = kModified + days(1);

std::string Date(TimePoint t) { return FormatHttpDate(t); }

enum class Outcome { kOk, kPrecondition, kNotModified };

struct ConditionCase {
  std::string name;
  ConditionHeaders headers;
  Outcome get;                 // GetObject/HeadObject
  std::string get_condition;   // for kPrecondition
  Outcome copy;                // CopyObject source (never 304)
  std::string copy_condition;  // for kPrecondition
};

std::vector<ConditionCase> ConditionCases() {
  const std::string match = kEtag;
  const std::string no_match = "\"etag123\"";
  const std::string earlier = Date(kModified - days(1));
  const std::string same_second = Date(kModified);  // 12:00:00, object is 12:00:00.750
  const std::string later = Date(kModified + seconds(1));
  const std::string future = Date(kNow + days(1));
  const std::string junk = "yesterday-ish";
  const std::string cs = "x-amz-copy-source-";
  using O = Outcome;
  return {
      {"no headers", {}, O::kOk, "", O::kOk, ""},
      // If-Match.
      {"If-Match matches", {match, {}, {}, {}}, O::kOk, "", O::kOk, ""},
      {"If-Match without quotes",
       {"8d777f385d3dfec8815d20f7496026dc", {}, {}, {}},
       O::kOk,
       "",
       O::kOk,
       ""},
      {"If-Match *", {"*", {}, {}, {}}, O::kOk, "", O::kOk, ""},
      {"If-Match in list", {no_match + ", " + match, {}, {}, {}}, O::kOk, "", O::kOk, ""},
      {"If-Match differs",
       {no_match, {}, {}, {}},
       O::kPrecondition,
       "If-Match",
       O::kPrecondition,
       cs + "If-Match"},
      {"If-Match empty is absent", {"", {}, {}, {}}, O::kOk, "", O::kOk, ""},
      // If-None-Match.
      {"If-None-Match differs", {{}, no_match, {}, {}}, O::kOk, "", O::kOk, ""},
      {"If-None-Match matches",
       {{}, match, {}, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-None-Match"},
      {"If-None-Match without quotes matches",
       {{}, "8d777f385d3dfec8815d20f7496026dc", {}, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-None-Match"},
      {"If-None-Match *",
       {{}, "*", {}, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-None-Match"},
      // If-Modified-Since.
      {"If-Modified-Since earlier", {{}, {}, earlier, {}}, O::kOk, "", O::kOk, ""},
      {"If-Modified-Since same second",
       {{}, {}, same_second, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-Modified-Since"},
      {"If-Modified-Since later",
       {{}, {}, later, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-Modified-Since"},
      {"If-Modified-Since now",
       {{}, {}, Date(kNow), {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-Modified-Since"},
      {"If-Modified-Since in the future is ignored", {{}, {}, future, {}}, O::kOk, "", O::kOk, ""},
      {"If-Modified-Since unparsable is ignored", {{}, {}, junk, {}}, O::kOk, "", O::kOk, ""},
      // If-Unmodified-Since.
      {"If-Unmodified-Since earlier",
       {{}, {}, {}, earlier},
       O::kPrecondition,
       "If-Unmodified-Since",
       O::kPrecondition,
       cs + "If-Unmodified-Since"},
      {"If-Unmodified-Since same second", {{}, {}, {}, same_second}, O::kOk, "", O::kOk, ""},
      {"If-Unmodified-Since later", {{}, {}, {}, later}, O::kOk, "", O::kOk, ""},
      {"If-Unmodified-Since in the future", {{}, {}, {}, future}, O::kOk, "", O::kOk, ""},
      {"If-Unmodified-Since unparsable is ignored", {{}, {}, {}, junk}, O::kOk, "", O::kOk, ""},
      // Precedence documented by AWS.
      {"If-Match true overrides If-Unmodified-Since false",
       {match, {}, {}, earlier},
       O::kOk,
       "",
       O::kOk,
       ""},
      {"If-None-Match false with If-Modified-Since true",
       {{}, match, earlier, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-None-Match"},
      // RFC 9110 §13.2.2: If-Modified-Since is not evaluated when If-None-Match is present.
      {"If-None-Match true skips If-Modified-Since",
       {{}, no_match, same_second, {}},
       O::kOk,
       "",
       O::kOk,
       ""},
      // Order of evaluation, as recorded against AWS by elimination.
      {"all four fail: If-Match reported",
       {no_match, match, Date(kNow), earlier},
       O::kPrecondition,
       "If-Match",
       O::kPrecondition,
       cs + "If-Match"},
      {"three fail: If-Unmodified-Since reported",
       {{}, match, Date(kNow), earlier},
       O::kPrecondition,
       "If-Unmodified-Since",
       O::kPrecondition,
       cs + "If-Unmodified-Since"},
      {"two fail: If-None-Match reported",
       {{}, match, Date(kNow), {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-None-Match"},
      {"If-Match false and If-None-Match false: If-Match reported",
       {no_match, match, {}, {}},
       O::kPrecondition,
       "If-Match",
       O::kPrecondition,
       cs + "If-Match"},
      {"all four hold", {match, no_match, earlier, Date(kNow)}, O::kOk, "", O::kOk, ""},
      {"If-Match holds, If-None-Match fails",
       {match, match, {}, {}},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-None-Match"},
      {"If-Unmodified-Since holds, If-Modified-Since fails",
       {{}, {}, later, later},
       O::kNotModified,
       "",
       O::kPrecondition,
       cs + "If-Modified-Since"},
  };
}

void ExpectOutcome(const Status& status, Outcome outcome, const std::string& condition) {
  switch (outcome) {
    case Outcome::kOk:
      EXPECT_TRUE(status.ok()) << status.ToString();
      break;
    case Outcome::kPrecondition:
      EXPECT_EQ(status.code(), ErrorCode::kPreconditionFailed) << status.ToString();
      EXPECT_EQ(status.message(), "At least one of the pre-conditions you specified did not hold");
      EXPECT_EQ(FieldOf(status, "Condition"), condition);
      break;
    case Outcome::kNotModified:
      EXPECT_EQ(status.code(), ErrorCode::kNotModified) << status.ToString();
      EXPECT_TRUE(status.fields().empty());
      break;
  }
}

TEST(ConditionsTest, GetAndHeadFollowS3Precedence) {
  for (const ConditionCase& c : ConditionCases()) {
    SCOPED_TRACE(c.name);
    ExpectOutcome(EvaluateConditions(c.headers, kEtag, kModified, kNow), c.get, c.get_condition);
  }
}

TEST(ConditionsTest, CopySourceFailuresAreAlways412) {
  for (const ConditionCase& c : ConditionCases()) {
    SCOPED_TRACE(c.name);
    ExpectOutcome(EvaluateCopySourceConditions(c.headers, kEtag, kModified, kNow), c.copy,
                  c.copy_condition);
  }
}

TEST(ConditionsTest, ComparesAtWholeSecondsWhateverTheStoredPrecision) {
  // An object modified at .999 of a second is "not modified since" that second and "unmodified
  // since" it, just like one modified at .000.
  for (int ms : {0, 1, 500, 999}) {
    TimePoint modified = FromUnixMillis(1714564800000) + milliseconds(ms);
    ConditionHeaders ims{{}, {}, Date(modified), {}};
    ConditionHeaders ius{{}, {}, {}, Date(modified)};
    EXPECT_EQ(EvaluateConditions(ims, kEtag, modified, kNow).code(), ErrorCode::kNotModified) << ms;
    EXPECT_TRUE(EvaluateConditions(ius, kEtag, modified, kNow).ok()) << ms;
    // One second before Last-Modified: modified since, and not unmodified since.
    ConditionHeaders ims_before{{}, {}, Date(modified - seconds(1)), {}};
    ConditionHeaders ius_before{{}, {}, {}, Date(modified - seconds(1))};
    EXPECT_TRUE(EvaluateConditions(ims_before, kEtag, modified, kNow).ok()) << ms;
    EXPECT_EQ(EvaluateConditions(ius_before, kEtag, modified, kNow).code(),
              ErrorCode::kPreconditionFailed)
        << ms;
  }
}

TEST(ConditionsTest, FutureIfModifiedSinceIsJudgedAgainstTheGivenNow) {
  // The same date is in the future for one clock and in the past for another.
  ConditionHeaders headers{{}, {}, Date(kModified + days(2)), {}};
  EXPECT_TRUE(EvaluateConditions(headers, kEtag, kModified, kModified + days(1)).ok());
  EXPECT_EQ(EvaluateConditions(headers, kEtag, kModified, kModified + days(3)).code(),
            ErrorCode::kNotModified);
  EXPECT_TRUE(EvaluateCopySourceConditions(headers, kEtag, kModified, kModified + days(1)).ok());
  EXPECT_EQ(EvaluateCopySourceConditions(headers, kEtag, kModified, kModified + days(3)).code(),
            ErrorCode::kPreconditionFailed);
}

TEST(ConditionsTest, AcceptsTheDateFormatsParseHttpDateKnows) {
  // RFC 1123 is what SDKs send; ISO 8601 forms are accepted too.
  for (const std::string& date :
       {std::string("Wed, 01 May 2024 12:00:00 GMT"), std::string("2024-05-01T12:00:00Z"),
        std::string("20240501T120000Z"), std::string("  Wed, 01 May 2024 12:00:00 GMT  ")}) {
    ConditionHeaders headers{{}, {}, date, {}};
    EXPECT_EQ(EvaluateConditions(headers, kEtag, kModified, kNow).code(), ErrorCode::kNotModified)
        << date;
  }
}

TEST(ConditionsTest, IgnoresUnparsableDates) {
  for (const std::string& junk :
       {std::string("not a date"), std::string("Wed, 01 May 2024"), std::string("1714564800"),
        std::string("Wed, 32 May 2024 12:00:00 GMT"), std::string("   ")}) {
    ConditionHeaders ims{{}, {}, junk, {}};
    ConditionHeaders ius{{}, {}, {}, junk};
    EXPECT_TRUE(EvaluateConditions(ims, kEtag, kModified, kNow).ok()) << junk;
    EXPECT_TRUE(EvaluateConditions(ius, kEtag, kModified, kNow).ok()) << junk;
    EXPECT_TRUE(EvaluateCopySourceConditions(ims, kEtag, kModified, kNow).ok()) << junk;
    EXPECT_TRUE(EvaluateCopySourceConditions(ius, kEtag, kModified, kNow).ok()) << junk;
  }
}

TEST(ConditionsTest, StatusesMapToTheRightHttpStatus) {
  ConditionHeaders fail_match{"\"nope\"", {}, {}, {}};
  ConditionHeaders not_modified{{}, kEtag, {}, {}};
  EXPECT_EQ(WireOf(EvaluateConditions(fail_match, kEtag, kModified, kNow).code()).xml_status, 412);
  EXPECT_EQ(WireOf(EvaluateConditions(not_modified, kEtag, kModified, kNow).code()).xml_status,
            304);
  EXPECT_EQ(
      WireOf(EvaluateCopySourceConditions(not_modified, kEtag, kModified, kNow).code()).xml_status,
      412);
}

}  // namespace
}  // namespace hangar::s3
