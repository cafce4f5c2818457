#pragma once
// MultipartFormReader: a strict, streaming reader of the multipart/form-data bodies that browsers
// send for S3 POST Object (RFC 7578 over the multipart grammar of RFC 2046 §5.1.1). Fields are
// small and read whole; the file part streams through ReadPart, so an upload of any size costs one
// fixed buffer. Debian packages no streaming multipart parser for C++ (Boost 1.74's Beast has
// none), hence this one; tests/fuzz/post_form_fuzz.cc runs it over hostile bytes.
//
// Strict where RFC 2046 leaves a choice: a delimiter must end its line (only transport padding
// before CRLF), part headers are CRLF-terminated without folding, and every part needs a
// `Content-Disposition: form-data; name="..."`. Anything else is kMalformedPostRequest, as S3
// answers a body it cannot read. Not thread-safe; owned by one request handler. It keeps a
// reference to the BodyReader it reads, which must outlive it.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_message.h"
#include "common/result.h"

namespace hangar::s3 {

// The boundary of a `multipart/form-data; boundary=...` Content-Type (type and parameter name are
// case-insensitive; the value may be quoted), or nullopt when the type is another one or the
// boundary is missing or not 1-70 characters (RFC 2046).
std::optional<std::string> FormBoundary(std::string_view content_type);

// What a part's headers say about it.
struct FormPart {
  std::string name;                     // Content-Disposition's name (as sent)
  std::optional<std::string> filename;  // Content-Disposition's filename, when given
  std::string content_type;             // the part's own Content-Type, "" when absent
};

class MultipartFormReader {
 public:
  static constexpr size_t kMaxPartHeaderBytes = 8 * 1024;
  static constexpr size_t kMaxPreambleBytes = 8 * 1024;

  MultipartFormReader(BodyReader& body, std::string_view boundary);

  // Moves to the next part, discarding what is left of the current one; nullopt once the close
  // delimiter has been read. Errors: kMalformedPostRequest; the body's own errors.
  Result<std::optional<FormPart>> NextPart();

  // Up to into.size() bytes of the current part's content; 0 at its end (and before the first
  // part or after the last). Errors: kMalformedPostRequest (the body ends inside the part).
  Result<size_t> ReadPart(std::span<char> into);

  // The rest of the current part's content, at most `max` bytes.
  // Errors: `too_large` when the content is longer; those of ReadPart.
  Result<std::string> ReadPartWhole(size_t max, const Status& too_large);

  // Reads the body to its end, parts after the current one included, checking that it is well
  // formed and that at most `max` bytes follow the current part. Errors: kMalformedPostRequest
  // (also when more than `max` bytes follow); the body's own errors.
  Status Finish(size_t max);

  // Bytes consumed from the body so far.
  uint64_t consumed() const { return consumed_; }

 private:
  enum class State {
    kPreamble,        // before the first delimiter: content to discard
    kPart,            // inside a part's content
    kAfterDelimiter,  // a delimiter was read; its line's end or "--" follows
    kEnd,             // the close delimiter was read
  };

  // Reads more of the body into buf_; false at its end.
  Result<bool> Fill();
  // Where the next delimiter starts in buf_ (at or after pos_), or npos.
  size_t FindDelimiter();
  // The delimiter line's end and the part headers after it (state kAfterDelimiter).
  Result<std::optional<FormPart>> ReadDelimiterAndHeaders();
  // Content of the current part or the preamble; `out` may be empty (discard).
  Result<size_t> ReadContent(std::span<char> out, size_t limit);

  BodyReader& body_;
  const std::string delimiter_;  // CRLF "--" boundary
  std::vector<char> buf_;
  size_t pos_ = 0;    // first unconsumed byte of buf_
  size_t end_ = 0;    // end of the valid bytes of buf_
  size_t clean_ = 0;  // no delimiter starts in [pos_, clean_)
  bool eof_ = false;
  State state_ = State::kPreamble;
  uint64_t consumed_ = 0;
};

}  // namespace hangar::s3
