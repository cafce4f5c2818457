#include "s3/post_form.h"

#include <gtest/gtest.h>

#include <random>

namespace hangar::s3 {
namespace {

// Hands out a body in pieces of at most `step` bytes, as a slow connection would.
class ChoppedReader final : public BodyReader {
 public:
  ChoppedReader(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  Result<size_t> Read(std::span<char> into) override {
    const size_t n = std::min({step_, into.size(), data_.size() - offset_});
    std::copy_n(data_.data() + offset_, n, into.data());
    offset_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t step_;
  size_t offset_ = 0;
};

std::string Part(std::string_view name, std::string_view value, std::string_view extra = "") {
  return "--XyZ\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"" +
         std::string(extra) + "\r\n\r\n" + std::string(value) + "\r\n";
}

struct Parsed {
  std::vector<std::pair<std::string, std::string>> parts;  // name, content
  std::optional<std::string> filename;
};

// Reads every part whole, through reads of `read_size` bytes.
Result<Parsed> ParseAll(std::string body, size_t step, size_t read_size = 7) {
  ChoppedReader chopped(std::move(body), step);
  MultipartFormReader reader(chopped, "XyZ");
  Parsed out;
  while (true) {
    HANGAR_ASSIGN_OR_RETURN(auto part, reader.NextPart());
    if (!part) break;
    if (part->filename) out.filename = part->filename;
    std::string content;
    std::vector<char> chunk(read_size);
    while (true) {
      HANGAR_ASSIGN_OR_RETURN(size_t n, reader.ReadPart(chunk));
      if (n == 0) break;
      content.append(chunk.data(), n);
    }
    out.parts.emplace_back(part->name, std::move(content));
  }
  HANGAR_RETURN_IF_ERROR(reader.Finish(1024));
  return out;
}

ErrorCode CodeOf(const Result<Parsed>& r) { return r.ok() ? ErrorCode::kOk : r.status().code(); }

TEST(FormBoundaryTest, AcceptsMultipartFormDataOnly) {
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(FormBoundary("Multipart/Form-Data;BOUNDARY=\"a b:c\""), "a b:c");
  EXPECT_EQ(FormBoundary("multipart/form-data; charset=utf-8; boundary=----x"), "----x");
  EXPECT_EQ(FormBoundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(FormBoundary("multipart/mixed; boundary=abc"), std::nullopt);
  EXPECT_EQ(FormBoundary("application/x-www-form-urlencoded"), std::nullopt);
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary="), std::nullopt);
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary=" + std::string(71, 'a')), std::nullopt);
}

TEST(MultipartFormReaderTest, ReadsFieldsAndFileWhateverTheReadSizes) {
  const std::string body =
      Part("key", "user/${filename}") + Part("x-amz-meta-a", "") +
      Part("file", "hello\r\n-- world\r\n--Xy", "; filename=\"a \\\"b\\\".txt\"") + "--XyZ--\r\n";
  for (size_t step : {1, 2, 3, 5, 64, 100000}) {
    for (size_t read_size : {1, 7, 4096}) {
      auto parsed = ParseAll(body, step, read_size);
      ASSERT_TRUE(parsed.ok()) << step << "/" << read_size << ": " << parsed.status().ToString();
      ASSERT_EQ(parsed->parts.size(), 3u);
      EXPECT_EQ(parsed->parts[0], (std::pair<std::string, std::string>{"key", "user/${filename}"}));
      EXPECT_EQ(parsed->parts[1].second, "");
      EXPECT_EQ(parsed->parts[2].second, "hello\r\n-- world\r\n--Xy");
      EXPECT_EQ(parsed->filename, "a \"b\".txt");
    }
  }
}

TEST(MultipartFormReaderTest, LargeRandomFileSurvivesEveryChunking) {
  std::mt19937 rng(7);
  std::string content(300000, '\0');
  for (char& c : content) c = static_cast<char>(rng() % 4 == 0 ? '\r' : rng() % 256);
  // Near-delimiters inside the content.
  content.insert(1000, "\r\n--XyY");
  content.insert(70000, "\r\n--X");
  const std::string body = Part("file", content, "; filename=\"f\"") + "--XyZ--";
  for (size_t step : {1000, 65536, 65537, 1 << 20}) {
    auto parsed = ParseAll(body, step, 8192);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_EQ(parsed->parts.size(), 1u);
    EXPECT_EQ(parsed->parts[0].second, content);
  }
}

TEST(MultipartFormReaderTest, AcceptsPreambleEpiloguePaddingAndOtherHeaders) {
  const std::string body =
      "preamble text\r\n--XyZ  \t\r\nContent-Type: text/plain\r\n"
      "content-disposition: form-data; name=key\r\n\r\nk\r\n--XyZ--\r\n"
      "epilogue";
  auto parsed = ParseAll(body, 3);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->parts.size(), 1u);
  EXPECT_EQ(parsed->parts[0].second, "k");
}

TEST(MultipartFormReaderTest, RefusesMalformedBodies) {
  const std::string ok_part = Part("key", "v");
  const std::vector<std::string> bad = {
      "",                               // no delimiter at all
      ok_part,                          // no close delimiter
      ok_part + "--XyZ",                // ends after a delimiter
      "--XyZ\r\n\r\nvalue\r\n--XyZ--",  // no Content-Disposition
      "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--",            // no name
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--XyZ--",  // open quote
      "--XyZ\r\nNo colon here\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\n folded: header\r\n\r\nv\r\n--XyZ--",
      "--XyZ garbage\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n" + std::string(9000, 'h'),
      std::string(9000, 'p') + "\r\n" + ok_part + "--XyZ--",  // preamble too long
  };
  for (const std::string& body : bad) {
    EXPECT_EQ(CodeOf(ParseAll(body, 5)), ErrorCode::kMalformedPostRequest) << body.substr(0, 80);
  }
}

TEST(MultipartFormReaderTest, ReadPartWholeStopsAtItsLimit) {
  ChoppedReader chopped(Part("policy", std::string(100, 'p')) + "--XyZ--", 9);
  MultipartFormReader reader(chopped, "XyZ");
  ASSERT_TRUE(reader.NextPart().ok());
  const Status too_large(ErrorCode::kMaxPostPreDataLengthExceeded, "too large");
  auto whole = reader.ReadPartWhole(99, too_large);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), ErrorCode::kMaxPostPreDataLengthExceeded);
}

TEST(MultipartFormReaderTest, FinishBoundsWhatFollowsTheFile) {
  const std::string body = Part("file", "data") + Part("late", std::string(2000, 'x')) + "--XyZ--";
  for (size_t max : {size_t{100}, size_t{4000}}) {
    ChoppedReader chopped(body, 64);
    MultipartFormReader reader(chopped, "XyZ");
    ASSERT_TRUE(reader.NextPart().ok());
    char buf[16];
    ASSERT_EQ(*reader.ReadPart(buf), 4u);
    ASSERT_EQ(*reader.ReadPart(buf), 0u);
    Status finished = reader.Finish(max);
    EXPECT_EQ(finished.ok(), max == 4000) << finished.ToString();
  }
}

}  // namespace
}  // namespace hangar::s3
