#include "loadgen/http_response.h"

#include <gtest/gtest.h>

#include <string>

#include "loadgen/aws_error.h"

namespace hangar::bench {
namespace {

class Collect : public BodySink {
 public:
  void OnBody(std::string_view bytes) override { body.append(bytes); }
  std::string body;
};

// Feeds `wire` in pieces of `step` bytes, keeping unconsumed bytes as a connection does.
ResponseParser::Result FeedInPieces(ResponseParser& p, std::string_view wire, size_t step,
                                    Collect& sink) {
  std::string pending;
  ResponseParser::Result r = ResponseParser::Result::kNeedMore;
  for (size_t i = 0; i < wire.size() && r == ResponseParser::Result::kNeedMore; i += step) {
    pending.append(wire.substr(i, step));
    std::string_view data = pending;
    r = p.Feed(data, sink);
    pending.erase(0, pending.size() - data.size());
  }
  return r;
}

TEST(ResponseParserTest, ContentLengthBodyArrivingInPiecesReachesTheSink) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 10\r\n\r\n0123456789";
  for (size_t step : {size_t{1}, size_t{7}, wire.size()}) {
    ResponseParser p;
    p.Reset();
    Collect sink;
    ASSERT_EQ(FeedInPieces(p, wire, step, sink), ResponseParser::Result::kComplete) << step;
    EXPECT_EQ(p.status(), 200);
    EXPECT_EQ(sink.body, "0123456789");
    EXPECT_EQ(p.body_bytes(), 10u);
    EXPECT_EQ(p.Header("etag").value_or(""), "\"abc\"");
    EXPECT_FALSE(p.Header("x-amz-server-side-encryption"));
    EXPECT_FALSE(p.close());
  }
}

TEST(ResponseParserTest, ChunkedBodySplitAcrossReadsIsDecoded) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
      "0\r\nX-Trailer: t\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{3}, wire.size()}) {
    ResponseParser p;
    p.Reset();
    Collect sink;
    ASSERT_EQ(FeedInPieces(p, wire, step, sink), ResponseParser::Result::kComplete) << step;
    EXPECT_EQ(sink.body, "Wikipedia");
  }
}

TEST(ResponseParserTest, BodyWithoutLengthEndsWhenTheConnectionDoes) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  std::string_view data = "HTTP/1.1 200 OK\r\n\r\nuntil close";
  EXPECT_EQ(p.Feed(data, sink), ResponseParser::Result::kNeedMore);
  EXPECT_EQ(p.Finish(), ResponseParser::Result::kComplete);
  EXPECT_EQ(sink.body, "until close");
  EXPECT_TRUE(p.close());
}

TEST(ResponseParserTest, TruncatedLengthDelimitedBodyIsMalformedAtClose) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  std::string_view data = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort";
  EXPECT_EQ(p.Feed(data, sink), ResponseParser::Result::kNeedMore);
  EXPECT_EQ(p.Finish(), ResponseParser::Result::kMalformed);
}

TEST(ResponseParserTest, InterimContinueIsSkipped) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  std::string_view data =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(p.Feed(data, sink), ResponseParser::Result::kComplete);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(sink.body, "ok");
}

TEST(ResponseParserTest, BytesAfterTheResponseStayInTheInput) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  std::string_view data = "HTTP/1.1 204 No Content\r\n\r\nextra";
  EXPECT_EQ(p.Feed(data, sink), ResponseParser::Result::kComplete);
  EXPECT_EQ(data, "extra");
}

TEST(ResponseParserTest, Http10WithoutKeepAliveCloses) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  std::string_view data = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(p.Feed(data, sink), ResponseParser::Result::kComplete);
  EXPECT_TRUE(p.close());
}

TEST(ResponseParserTest, GarbageIsMalformed) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  std::string_view data = "SSH-2.0-OpenSSH\r\n\r\n";
  EXPECT_EQ(p.Feed(data, sink), ResponseParser::Result::kMalformed);
}

// Parses a complete error response; its body goes to error_body(), not to the sink.
ResponseParser ParseError(std::string_view wire) {
  ResponseParser p;
  p.Reset();
  Collect sink;
  EXPECT_EQ(p.Feed(wire, sink), ResponseParser::Result::kComplete);
  EXPECT_TRUE(sink.body.empty());
  return p;
}

TEST(ErrorCodeOfTest, NamesTheS3XmlCode) {
  std::string body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code></Error>";
  auto p = ParseError("HTTP/1.1 404 Not Found\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body);
  EXPECT_EQ(p.error_body(), body);
  EXPECT_EQ(ErrorCodeOf(p), "NoSuchBucket");
}

TEST(ErrorCodeOfTest, NamesTheJsonTypeWithoutItsNamespace) {
  std::string body = R"({"__type": "com.amazonaws.kms#NotFoundException", "message": "no"})";
  auto p = ParseError("HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body);
  EXPECT_EQ(ErrorCodeOf(p), "NotFoundException");
}

TEST(ErrorCodeOfTest, PrefersTheErrorTypeHeader) {
  auto p = ParseError(
      "HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: ThrottlingException:http://x/\r\n"
      "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(ErrorCodeOf(p), "ThrottlingException");
}

TEST(ErrorCodeOfTest, FallsBackToTheStatus) {
  auto p = ParseError("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
  EXPECT_EQ(ErrorCodeOf(p), "503");
}

TEST(JsonStringFieldTest, FindsAFlatField) {
  EXPECT_EQ(JsonStringField(R"({"KeyId":"k","CiphertextBlob": "AQID"})", "CiphertextBlob"), "AQID");
  EXPECT_FALSE(JsonStringField(R"({"KeyId":"k"})", "Signature"));
}

}  // namespace
}  // namespace hangar::bench
