#include "common/strings.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace hangar {
namespace {

TEST(StringsTest, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g*", false), "a%20b%2Fc~d_e.f-g%2A");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", false), "%E1%88%B4");
}

TEST(StringsTest, UriDecodeRejectsBrokenEscapes) {
  EXPECT_EQ(*UriDecode("a%20b%2f"), "a b/");
  EXPECT_EQ(*UriDecode("a+b"), "a+b");
  EXPECT_EQ(*UriDecode("a+b", true), "a b");
  EXPECT_FALSE(UriDecode("%2").has_value());
  EXPECT_FALSE(UriDecode("%").has_value());
  EXPECT_FALSE(UriDecode("%zz").has_value());
}

TEST(StringsTest, ParseQueryKeepsOrderAndEmptyValues) {
  auto q = ParseQuery("b=2&a=&c&d=x%3Dy", false);
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>("b", "2")));
  EXPECT_EQ((*q)[1].second, "");
  EXPECT_EQ((*q)[2].first, "c");
  EXPECT_EQ((*q)[3].second, "x=y");
}

TEST(StringsTest, HexRoundTrip) {
  EXPECT_EQ(HexEncode(std::string_view("\x01\xab", 2)), "01ab");
  EXPECT_EQ(*HexDecode("01AB"), std::string("\x01\xab", 2));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(StringsTest, AmzDateRoundTripAndRejectsGarbage) {
  auto t = ParseAmzDate("20150830T123600Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatAmzDate(*t), "20150830T123600Z");
  EXPECT_EQ(FormatIso8601(*t, false), "2015-08-30T12:36:00Z");
  EXPECT_EQ(FormatIso8601(*t, true), "2015-08-30T12:36:00.000Z");
  EXPECT_EQ(FormatHttpDate(*t), "Sun, 30 Aug 2015 12:36:00 GMT");
  EXPECT_FALSE(ParseAmzDate("2015-08-30T12:36:00Z"));
  EXPECT_FALSE(ParseAmzDate("20151330T123600Z"));
  EXPECT_FALSE(ParseAmzDate("2015083XT123600Z"));
}

TEST(StringsTest, HttpDateParsesRfc1123) {
  auto t = ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatAmzDate(*t), "20150830T123600Z");
  EXPECT_FALSE(ParseHttpDate("yesterday"));
}

TEST(StringsTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(StringsTest, RequestIdsAreUuidShapedAndDistinct) {
  std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);  // RFC 4122 variant
  EXPECT_NE(a, b);
  // Unique over many draws, from several threads at once.
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& ids : drawn) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 20000; ++i) ids.push_back(NewRequestId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& ids : drawn) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 80000u);
}

}  // namespace
}  // namespace hangar

namespace hangar {
namespace {

// Item 18: keys are exact bytes, and XML 1.0 output escapes what it must: CR as a reference (a raw
// one reaches the client as LF), other C0 controls as S3 writes them.
TEST(XmlEscapeTest, Item18ControlCharactersAreEscapedAndCrSurvives) {
  EXPECT_EQ(XmlEscape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&apos;");
  EXPECT_EQ(XmlEscape(std::string("k\x01y\r\n\t\x1b", 7)), "k&#x1;y&#xD;\n\t&#x1b;");
  EXPECT_EQ(XmlEscape("plain key/with spaces é"), "plain key/with spaces é");
}

TEST(XmlEscapeTest, AppendsAfterWhatIsThere) {
  std::string out = "<Key>";
  AppendXmlEscaped(out, std::string("&a\0b<", 5));
  AppendXmlEscaped(out, "");
  AppendXmlEscaped(out, "tail");
  EXPECT_EQ(out, std::string("<Key>&amp;a&#x0;b&lt;tail"));
}

// Item 11: nesting is measured before any parser builds a tree; brackets in strings do not count.
TEST(JsonNestingTest, Item11DeepNestingIsRefusedBeforeParsing) {
  EXPECT_TRUE(JsonNestingWithin(R"({"a":[{"b":"[[[[[[[[[["}]})", 3));
  EXPECT_FALSE(JsonNestingWithin(R"({"a":[{"b":[1]}]})", 3));
  EXPECT_TRUE(JsonNestingWithin(R"({"a":"\"{{{{"})", 1));
  const std::string deep = std::string(500000, '[') + std::string(500000, ']');
  EXPECT_FALSE(JsonNestingWithin(deep, kMaxJsonDepth));
  EXPECT_TRUE(JsonNestingWithin(std::string(64, '[') + std::string(64, ']'), kMaxJsonDepth));
}

// Found by the sigv4 and aws_chunked fuzz targets: years a TimePoint cannot hold overflowed.
TEST(DateParseTest, DatesOutsideTheRepresentableYearsAreMalformed) {
  EXPECT_FALSE(ParseAmzDate("28150101T000000Z").has_value());
  EXPECT_FALSE(ParseAmzDate("00130101T000000Z").has_value());
  EXPECT_FALSE(ParseHttpDate("00130101T000000Z").has_value());
  EXPECT_FALSE(ParseHttpDate("Mon, 01 Jan 9999 00:00:00 GMT").has_value());
  EXPECT_TRUE(ParseAmzDate("20261202T120000Z").has_value());
  EXPECT_TRUE(ParseHttpDate("Wed, 02 Dec 2026 12:00:00 GMT").has_value());
}

}  // namespace
}  // namespace hangar

namespace hangar {
namespace {

TEST(Iso8601Test, ParsesBothFormsAndRefusesOthers) {
  auto t = ParseIso8601("2015-08-30T12:36:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatIso8601(*t, false), "2015-08-30T12:36:00Z");
  EXPECT_EQ(ParseIso8601("2015-08-30T12:36:00.123Z"), t);
  EXPECT_FALSE(ParseIso8601("2015-08-30 12:36:00Z").has_value());
  EXPECT_FALSE(ParseIso8601("2015-08-30T12:36:00").has_value());
  EXPECT_FALSE(ParseIso8601("2015-08-30T12:36:00.12345Z").has_value());
  EXPECT_FALSE(ParseIso8601("2015-13-30T12:36:00Z").has_value());
}

}  // namespace
}  // namespace hangar
