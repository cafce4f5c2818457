#pragma once
// An incremental HTTP/1.1 response parser: just enough for an API server's answers, whose bodies
// are delimited by Content-Length, by chunked transfer coding, or by the connection closing
// (RFC 9112 section 6.3). Bodies are handed to a sink as they arrive and never accumulated, so a
// 256 MiB GET costs no memory; only the head and the start of an error body are kept.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hangar::bench {

// Receives the body of a 2xx response, piece by piece, as it arrives.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void OnBody(std::string_view bytes) = 0;
};

// Parses one response at a time; Reset() before each. Not thread-safe. Interim 100 answers are
// skipped.
class ResponseParser {
 public:
  enum class Result { kNeedMore, kComplete, kMalformed };
  static constexpr size_t kMaxHead = 64 * 1024;
  static constexpr size_t kKeptErrorBody = 512;  // enough for an AWS error's code and message

  void Reset();

  // Consumes bytes from the front of `data`, passing 2xx body bytes to `sink`. The head must be
  // whole in `data` before it is consumed: on kNeedMore the caller keeps what is left of `data`
  // and feeds it again with more bytes. Stops at the end of the response; bytes after it stay.
  Result Feed(std::string_view& data, BodySink& sink);

  // The connection ended: completes a response delimited by the close, else it is malformed.
  Result Finish();

  int status() const { return status_; }
  bool close() const { return close_; }  // the connection ends after this response
  uint64_t body_bytes() const { return body_bytes_; }
  std::optional<uint64_t> content_length() const { return content_length_; }
  // The first kKeptErrorBody bytes of a non-2xx body.
  const std::string& error_body() const { return error_body_; }
  // The value of the first header field `name` (any case), without leading blanks; nullopt if
  // the response has none. Valid until the next Reset().
  std::optional<std::string_view> Header(std::string_view name) const;

 private:
  enum class State {
    kHeaders,
    kBody,
    kUntilClose,
    kChunkSize,
    kChunkData,
    kChunkCrlf,
    kTrailers,
    kDone
  };

  bool ParseHead(std::string_view head);
  Result ParseChunkLine(std::string_view& data);
  void Deliver(std::string_view bytes, BodySink& sink);

  State state_ = State::kHeaders;
  int status_ = 0;
  std::optional<uint64_t> content_length_;
  bool chunked_ = false;
  bool close_ = false;
  std::string head_;  // header fields of the response (after the status line), for Header()
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  std::string error_body_;
  std::string chunk_line_;  // a chunk-size or trailer line split across reads
};

// Whether `a` and `b` are equal ignoring ASCII case.
bool IEquals(std::string_view a, std::string_view b);

}  // namespace hangar::bench
