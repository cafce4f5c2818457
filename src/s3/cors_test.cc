#include "s3/cors.h"

#include <gtest/gtest.h>

#include "s3/records.h"

namespace hangar::s3 {
namespace {

CorsRule Rule(std::vector<std::string> origins, std::vector<std::string> methods,
              std::vector<std::string> headers = {}) {
  CorsRule r;
  r.allowed_origins = std::move(origins);
  r.allowed_methods = std::move(methods);
  r.allowed_headers = std::move(headers);
  return r;
}

CorsRequest Ask(std::string origin, std::string method, std::vector<std::string> headers = {}) {
  return CorsRequest{std::move(origin), std::move(method), std::move(headers)};
}

TEST(CorsMatchTest, OriginWildcardMatchesAnyRunButKeepsSchemeAndSuffix) {
  EXPECT_TRUE(OriginMatches("http://*.origin.com", "http://test.origin.com"));
  EXPECT_FALSE(OriginMatches("http://*.origin.com", "http://test.origin.com/"));
  EXPECT_FALSE(OriginMatches("http://*.origin.com", "https://test.origin.com"));
  EXPECT_FALSE(OriginMatches("http://localhost:4200", "https://localhost:4200"));
  EXPECT_TRUE(OriginMatches("*", "https://anything.example"));
  EXPECT_TRUE(OriginMatches("http://a.com", "http://a.com"));
  EXPECT_FALSE(OriginMatches("http://a.com", "http://A.com"));
  // The prefix and suffix may not overlap.
  EXPECT_FALSE(OriginMatches("ab*ba", "aba"));
}

TEST(CorsMatchTest, HeaderNamesMatchWithoutRegardToCase) {
  EXPECT_TRUE(HeaderMatches("X-Amz-Date", "x-amz-date"));
  EXPECT_TRUE(HeaderMatches("x-amz-*", "X-AMZ-META-FOO"));
  EXPECT_TRUE(HeaderMatches("*", "content-type"));
  EXPECT_FALSE(HeaderMatches("x-amz-*", "content-type"));
}

TEST(CorsMatchTest, RequestHeadersAreSplitTrimmedAndLowerCased) {
  EXPECT_EQ(SplitRequestHeaders("X-Amz-Date,Content-Type , authorization"),
            (std::vector<std::string>{"x-amz-date", "content-type", "authorization"}));
  EXPECT_TRUE(SplitRequestHeaders("").empty());
}

TEST(CorsMatchTest, FirstRuleAllowingOriginMethodAndEveryHeaderWins) {
  std::vector<CorsRule> rules = {Rule({"https://a.example"}, {"GET"}),
                                 Rule({"https://*.example"}, {"GET", "PUT"}, {"x-amz-*"}),
                                 Rule({"*"}, {"GET", "PUT"}, {"*"})};
  EXPECT_EQ(MatchCorsRule(rules, Ask("https://a.example", "GET")), &rules[0]);
  EXPECT_EQ(MatchCorsRule(rules, Ask("https://a.example", "PUT")), &rules[1]);
  // Rule 0 has no AllowedHeader, so any requested header skips it.
  EXPECT_EQ(MatchCorsRule(rules, Ask("https://a.example", "GET", {"x-amz-date"})), &rules[1]);
  EXPECT_EQ(MatchCorsRule(rules, Ask("https://a.example", "GET", {"x-amz-date", "range"})),
            &rules[2]);
  EXPECT_EQ(MatchCorsRule(rules, Ask("https://a.example", "DELETE")), nullptr);
  EXPECT_EQ(MatchCorsRule({}, Ask("https://a.example", "GET")), nullptr);
}

TEST(CorsHeadersTest, SpecificOriginIsEchoedWithCredentials) {
  CorsRule rule = Rule({"https://*.example"}, {"GET", "PUT"}, {"*"});
  rule.expose_headers = {"ETag", "x-amz-request-id"};
  rule.max_age_seconds = 3000;
  HeaderList out;
  AddCorsHeaders(rule, Ask("https://b.example", "PUT", {"x-amz-date", "content-type"}), true, out);
  EXPECT_EQ(out.Get("access-control-allow-origin"), "https://b.example");
  EXPECT_EQ(out.Get("access-control-allow-credentials"), "true");
  EXPECT_EQ(out.Get("access-control-allow-methods"), "GET, PUT");
  EXPECT_EQ(out.Get("access-control-allow-headers"), "x-amz-date, content-type");
  EXPECT_EQ(out.Get("access-control-expose-headers"), "ETag, x-amz-request-id");
  EXPECT_EQ(out.Get("access-control-max-age"), "3000");
  EXPECT_EQ(out.Get("vary"),
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

TEST(CorsHeadersTest, StarOriginAnswersStarWithoutCredentialsOrAllowHeadersOnActualRequests) {
  HeaderList out;
  AddCorsHeaders(Rule({"*"}, {"GET"}, {"*"}), Ask("https://b.example", "GET", {"range"}), false,
                 out);
  EXPECT_EQ(out.Get("access-control-allow-origin"), "*");
  EXPECT_FALSE(out.Has("access-control-allow-credentials"));
  EXPECT_FALSE(out.Has("access-control-allow-headers"));
  EXPECT_FALSE(out.Has("access-control-expose-headers"));
}

TEST(CorsHeadersTest, RuleWithStarAndANamedOriginEchoesTheNamedOne) {
  CorsRule rule = Rule({"*", "https://a.example"}, {"GET"});
  HeaderList named;
  AddCorsHeaders(rule, Ask("https://a.example", "GET"), false, named);
  EXPECT_EQ(named.Get("access-control-allow-origin"), "https://a.example");
  EXPECT_EQ(named.Get("access-control-allow-credentials"), "true");
  HeaderList other;
  AddCorsHeaders(rule, Ask("https://b.example", "GET"), false, other);
  EXPECT_EQ(other.Get("access-control-allow-origin"), "*");
}

TEST(CorsConfigurationTest, ParsesAndRendersRulesAsSent) {
  auto rules = ParseCorsConfiguration(
      "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule><ID>r1</ID>"
      "<AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
      "<AllowedMethod>PUT</AllowedMethod><AllowedHeader>X-Amz-Date</AllowedHeader>"
      "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>"
      "<CORSRule><AllowedOrigin></AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>"
      "</CORSConfiguration>");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].id, "r1");
  EXPECT_EQ((*rules)[0].allowed_methods, (std::vector<std::string>{"GET", "PUT"}));
  EXPECT_EQ((*rules)[0].allowed_headers, (std::vector<std::string>{"X-Amz-Date"}));
  EXPECT_EQ((*rules)[0].max_age_seconds, 3000);
  EXPECT_EQ((*rules)[1].allowed_origins, (std::vector<std::string>{""}));
  std::string xml = CorsConfigurationXml(*rules);
  EXPECT_NE(xml.find("<AllowedHeader>X-Amz-Date</AllowedHeader>"), std::string::npos);
  EXPECT_NE(xml.find("<MaxAgeSeconds>3000</MaxAgeSeconds>"), std::string::npos);
  auto again = ParseCorsConfiguration(xml);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].allowed_origins, (*rules)[0].allowed_origins);
}

TEST(CorsConfigurationTest, RefusesWhatS3Refuses) {
  auto put = [](std::string rules) {
    return ParseCorsConfiguration("<CORSConfiguration>" + rules + "</CORSConfiguration>").status();
  };
  Status s =
      put("<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>MYMETHOD</AllowedMethod>"
          "</CORSRule>");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(s.message(),
            "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD");
  EXPECT_EQ(put("").code(), ErrorCode::kMalformedXml);
  EXPECT_EQ(put("<CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>").code(),
            ErrorCode::kMalformedXml);
  EXPECT_EQ(put("<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>").code(),
            ErrorCode::kMalformedXml);
  EXPECT_EQ(put("<CORSRule><AllowedOrigin>http://*.*.com</AllowedOrigin>"
                "<AllowedMethod>GET</AllowedMethod></CORSRule>")
                .code(),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(put("<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                "<MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule>")
                .code(),
            ErrorCode::kMalformedXml);
  std::string many;
  for (size_t i = 0; i <= kMaxCorsRules; ++i) {
    many +=
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
  }
  EXPECT_EQ(put(many).code(), ErrorCode::kMalformedXml);
}

TEST(CorsRequestTest, RequestedMethodOverridesTheRequestsOwnAndNoOriginMeansNoCors) {
  HeaderList h;
  EXPECT_FALSE(CorsRequestFrom(h, "GET").has_value());
  h.Add("origin", "https://a.example");
  EXPECT_EQ(CorsRequestFrom(h, "GET")->method, "GET");
  h.Add("access-control-request-method", "PUT");
  h.Add("access-control-request-headers", "X-Amz-Date");
  auto request = CorsRequestFrom(h, "GET");
  EXPECT_EQ(request->method, "PUT");
  EXPECT_EQ(request->headers, (std::vector<std::string>{"x-amz-date"}));
}

}  // namespace
}  // namespace hangar::s3
