#include "s3/post_form.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

// Grammar: RFC 2046 §5.1.1 (delimiters, transport padding, preamble and epilogue), RFC 7578
// (form-data parts and their Content-Disposition), RFC 9110 §5.6.4 (quoted strings).

namespace hangar::s3 {
namespace {

constexpr size_t kBufferBytes = 64 * 1024;
constexpr std::string_view kCrlf = "\r\n";

Status Malformed() {
  return Error(ErrorCode::kMalformedPostRequest,
               "The body of your POST request is not well-formed multipart/form-data.");
}

bool IsTokenChar(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// One `; name=value` parameter list, as Content-Type and Content-Disposition carry them. Values
// are tokens or quoted strings (backslash escapes one character). nullopt when malformed.
using Params = std::vector<std::pair<std::string, std::string>>;

std::optional<Params> ParseParams(std::string_view s) {
  Params out;
  while (true) {
    s = Trim(s);
    if (s.empty()) return out;
    if (s.front() != ';') return std::nullopt;
    s.remove_prefix(1);
    s = Trim(s);
    if (s.empty()) return out;  // a trailing ';'
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = Trim(s.substr(0, eq));
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) return std::nullopt;
    s = Trim(s.substr(eq + 1));
    std::string value;
    if (!s.empty() && s.front() == '"') {
      size_t i = 1;
      bool closed = false;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          value.push_back(s[++i]);
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value.push_back(s[i]);
        }
      }
      if (!closed) return std::nullopt;
      s.remove_prefix(i);
    } else {
      size_t n = 0;
      while (n < s.size() && IsTokenChar(s[n])) ++n;
      if (n == 0) return std::nullopt;
      value = std::string(s.substr(0, n));
      s.remove_prefix(n);
    }
    out.emplace_back(ToLower(name), std::move(value));
  }
}

// The header lines of one part (without the blank line that ends them).
Result<FormPart> ParsePartHeaders(std::string_view block) {
  FormPart part;
  bool disposition = false;
  while (!block.empty()) {
    size_t eol = block.find(kCrlf);
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + kCrlf.size());
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Malformed();
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return Malformed();
    std::string_view value = Trim(line.substr(colon + 1));
    const std::string lower = ToLower(name);
    if (lower == "content-type") {
      part.content_type = std::string(value);
    } else if (lower == "content-disposition") {
      if (disposition) return Malformed();
      disposition = true;
      size_t semi = value.find(';');
      if (ToLower(Trim(value.substr(0, semi))) != "form-data") return Malformed();
      auto params = ParseParams(semi == std::string_view::npos ? "" : value.substr(semi));
      if (!params) return Malformed();
      bool named = false;
      for (auto& [key, v] : *params) {
        if (key == "name" && !named) {
          part.name = std::move(v);
          named = true;
        } else if (key == "filename" && !part.filename) {
          part.filename = std::move(v);
        }
      }
      if (!named) return Malformed();
    }
    // Other part headers (Content-Transfer-Encoding and the like) carry nothing S3 reads.
  }
  if (!disposition) return Malformed();
  return part;
}

}  // namespace

std::optional<std::string> FormBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (ToLower(Trim(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
  if (semi == std::string_view::npos) return std::nullopt;
  auto params = ParseParams(content_type.substr(semi));
  if (!params) return std::nullopt;
  for (const auto& [name, value] : *params) {
    if (name != "boundary") continue;
    // RFC 2046: 1-70 characters, not ending in a space.
    if (value.empty() || value.size() > 70 || value.back() == ' ') return std::nullopt;
    return value;
  }
  return std::nullopt;
}

MultipartFormReader::MultipartFormReader(BodyReader& body, std::string_view boundary)
    : body_(body), delimiter_("\r\n--" + std::string(boundary)), buf_(kBufferBytes) {
  // The first delimiter may open the body, without the CRLF that precedes the others: reading as
  // if a CRLF came first makes it an ordinary delimiter (an empty preamble).
  std::memcpy(buf_.data(), kCrlf.data(), kCrlf.size());
  end_ = kCrlf.size();
}

Result<bool> MultipartFormReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    clean_ = clean_ > pos_ ? clean_ - pos_ : 0;
    pos_ = 0;
  }
  // Never full here: content is handed out before more is read, and headers are capped below
  // the buffer's size.
  HANGAR_ASSIGN_OR_RETURN(size_t n,
                          body_.Read(std::span<char>(buf_.data() + end_, buf_.size() - end_)));
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += n;
  consumed_ += n;
  return true;
}

size_t MultipartFormReader::FindDelimiter() {
  const size_t from = std::max(pos_, clean_);
  const std::string_view window(buf_.data() + from, end_ - from);
  const size_t at = window.find(delimiter_);
  if (at != std::string_view::npos) {
    clean_ = from + at;
    return from + at;
  }
  // A delimiter may still start in the last delimiter_.size() - 1 bytes, cut off by the read.
  const size_t tail = delimiter_.size() - 1;
  clean_ = std::max(from, end_ > tail ? end_ - tail : size_t{0});
  return std::string_view::npos;
}

Result<size_t> MultipartFormReader::ReadContent(std::span<char> out, size_t limit) {
  while (true) {
    const size_t delimiter = FindDelimiter();
    const size_t content_end = delimiter != std::string_view::npos ? delimiter : clean_;
    if (content_end > pos_) {
      const size_t n = std::min(content_end - pos_, out.empty() ? limit : out.size());
      if (!out.empty()) std::memcpy(out.data(), buf_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    if (delimiter == pos_) {
      pos_ += delimiter_.size();
      clean_ = pos_;
      state_ = State::kAfterDelimiter;
      return size_t{0};
    }
    HANGAR_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return Malformed();  // the body ends before the part does
  }
}

Result<std::optional<FormPart>> MultipartFormReader::ReadDelimiterAndHeaders() {
  // "--" right after the delimiter closes the body.
  while (end_ - pos_ < 2) {
    HANGAR_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return Malformed();
  }
  if (buf_[pos_] == '-' && buf_[pos_ + 1] == '-') {
    pos_ += 2;
    clean_ = pos_;
    state_ = State::kEnd;
    return std::optional<FormPart>();
  }
  // Transport padding, then the CRLF that ends the delimiter line, then the part's header lines
  // up to an empty line. Searching for CRLF CRLF from the delimiter line's CRLF also finds an
  // empty header block.
  size_t padding = 0;
  while (true) {
    while (pos_ + padding >= end_) {
      HANGAR_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) return Malformed();
    }
    const char c = buf_[pos_ + padding];
    if (c != ' ' && c != '\t') break;
    if (++padding > kMaxPartHeaderBytes) return Malformed();
  }
  pos_ += padding;
  size_t searched = 0;
  while (true) {
    const std::string_view window(buf_.data() + pos_, end_ - pos_);
    if (!window.starts_with(kCrlf.substr(0, std::min(window.size(), kCrlf.size())))) {
      return Malformed();  // something other than padding follows the delimiter
    }
    const size_t blank = window.find("\r\n\r\n", searched);
    if (blank != std::string_view::npos) {
      const std::string_view block =
          blank == 0 ? std::string_view() : window.substr(kCrlf.size(), blank - kCrlf.size());
      HANGAR_ASSIGN_OR_RETURN(FormPart part, ParsePartHeaders(block));
      pos_ += blank + 4;
      clean_ = pos_;
      state_ = State::kPart;
      return std::optional<FormPart>(std::move(part));
    }
    if (window.size() > kMaxPartHeaderBytes) return Malformed();
    searched = window.size() > 3 ? window.size() - 3 : 0;
    HANGAR_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return Malformed();
  }
}

Result<std::optional<FormPart>> MultipartFormReader::NextPart() {
  if (state_ == State::kEnd) return std::optional<FormPart>();
  if (state_ == State::kPreamble) {
    size_t skipped = 0;
    while (state_ == State::kPreamble) {
      HANGAR_ASSIGN_OR_RETURN(size_t n, ReadContent({}, kBufferBytes));
      skipped += n;
      if (skipped > kMaxPreambleBytes) return Malformed();
    }
  }
  while (state_ == State::kPart) {
    HANGAR_RETURN_IF_ERROR(ReadContent({}, kBufferBytes).status());
  }
  return ReadDelimiterAndHeaders();
}

Result<size_t> MultipartFormReader::ReadPart(std::span<char> into) {
  if (state_ != State::kPart || into.empty()) return size_t{0};
  return ReadContent(into, into.size());
}

Result<std::string> MultipartFormReader::ReadPartWhole(size_t max, const Status& too_large) {
  std::string out;
  char chunk[4096];
  while (true) {
    HANGAR_ASSIGN_OR_RETURN(size_t n, ReadPart(chunk));
    if (n == 0) return out;
    if (out.size() + n > max) return too_large;
    out.append(chunk, n);
  }
}

Status MultipartFormReader::Finish(size_t max) {
  // Bytes of the body taken from buf_ so far (the CRLF put in front of it is not the client's).
  auto processed = [&] { return consumed_ + kCrlf.size() - (end_ - pos_); };
  const uint64_t start = processed();
  auto over = [&] { return processed() - start > max; };
  while (state_ != State::kEnd) {
    if (state_ == State::kAfterDelimiter) {
      HANGAR_RETURN_IF_ERROR(ReadDelimiterAndHeaders().status());
    } else {
      HANGAR_RETURN_IF_ERROR(ReadContent({}, kBufferBytes).status());
    }
    if (over()) return Malformed();
  }
  // The epilogue (usually a CRLF) is ignored, up to the same limit.
  pos_ = end_;
  while (true) {
    if (over()) return Malformed();
    HANGAR_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return Status::Ok();
    pos_ = end_;
  }
}

}  // namespace hangar::s3
