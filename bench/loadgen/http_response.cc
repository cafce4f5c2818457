#include "loadgen/http_response.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace hangar::bench {
namespace {

bool IContains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (IEquals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view TrimLeft(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return v;
}

}  // namespace

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void ResponseParser::Reset() {
  state_ = State::kHeaders;
  status_ = 0;
  content_length_.reset();
  chunked_ = false;
  close_ = false;
  head_.clear();  // clear() keeps the capacity: no allocation per response once grown
  remaining_ = 0;
  body_bytes_ = 0;
  error_body_.clear();
  chunk_line_.clear();
}

ResponseParser::Result ResponseParser::Feed(std::string_view& data, BodySink& sink) {
  while (true) {
    switch (state_) {
      case State::kHeaders: {
        size_t end = data.find("\r\n\r\n");
        if (end == std::string_view::npos) {
          return data.size() > kMaxHead ? Result::kMalformed : Result::kNeedMore;
        }
        if (!ParseHead(data.substr(0, end))) return Result::kMalformed;
        data.remove_prefix(end + 4);
        if (status_ == 100) {  // an interim answer: the real one follows
          Reset();
          continue;
        }
        if (status_ == 204 || status_ == 304) {
          state_ = State::kDone;
        } else if (chunked_) {
          state_ = State::kChunkSize;
        } else if (content_length_) {
          remaining_ = *content_length_;
          state_ = remaining_ == 0 ? State::kDone : State::kBody;
        } else {
          close_ = true;  // neither length nor chunking: the body ends with the connection
          state_ = State::kUntilClose;
        }
        continue;
      }
      case State::kBody:
      case State::kChunkData: {
        if (data.empty()) return Result::kNeedMore;
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        Deliver(data.substr(0, n), sink);
        data.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::kBody ? State::kDone : State::kChunkCrlf;
        continue;
      }
      case State::kUntilClose:
        if (!data.empty()) Deliver(data, sink);
        data.remove_prefix(data.size());
        return Result::kNeedMore;  // Finish() ends it at EOF
      case State::kChunkSize:
      case State::kTrailers: {
        Result r = ParseChunkLine(data);
        if (r != Result::kComplete) return r;
        continue;
      }
      case State::kChunkCrlf:
        if (data.size() < 2) return Result::kNeedMore;
        if (data.substr(0, 2) != "\r\n") return Result::kMalformed;
        data.remove_prefix(2);
        state_ = State::kChunkSize;
        continue;
      case State::kDone:
        return Result::kComplete;
    }
  }
}

// One line of chunked framing: a chunk size (hex, extensions ignored) or a trailer field; an empty
// trailer line ends the body. kComplete here means "line consumed, go on".
ResponseParser::Result ResponseParser::ParseChunkLine(std::string_view& data) {
  // The line may be split across reads anywhere, even between its CR and LF: collect it up to the
  // LF in chunk_line_ first.
  size_t lf = data.find('\n');
  if (lf == std::string_view::npos) {
    chunk_line_.append(data);
    data.remove_prefix(data.size());
    return chunk_line_.size() > 4096 ? Result::kMalformed : Result::kNeedMore;
  }
  chunk_line_.append(data.substr(0, lf + 1));
  data.remove_prefix(lf + 1);
  if (chunk_line_.size() < 2 || chunk_line_[chunk_line_.size() - 2] != '\r') {
    return Result::kMalformed;
  }
  const std::string_view line(chunk_line_.data(), chunk_line_.size() - 2);
  if (state_ == State::kTrailers) {
    if (line.empty()) state_ = State::kDone;
    chunk_line_.clear();
    return Result::kComplete;
  }
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i])); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i])));
    size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    if (size > (1ull << 40)) return Result::kMalformed;
  }
  chunk_line_.clear();
  if (i == 0) return Result::kMalformed;
  if (size == 0) {
    state_ = State::kTrailers;
  } else {
    remaining_ = size;
    state_ = State::kChunkData;
  }
  return Result::kComplete;
}

ResponseParser::Result ResponseParser::Finish() {
  if (state_ == State::kUntilClose || state_ == State::kDone) {
    state_ = State::kDone;
    return Result::kComplete;
  }
  return Result::kMalformed;
}

std::optional<std::string_view> ResponseParser::Header(std::string_view name) const {
  std::string_view head = head_;
  for (size_t pos = 0; pos < head.size();) {
    size_t eol = std::min(head.find("\r\n", pos), head.size());
    std::string_view field = head.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = field.find(':');
    if (colon != std::string_view::npos && IEquals(field.substr(0, colon), name)) {
      return TrimLeft(field.substr(colon + 1));
    }
  }
  return std::nullopt;
}

void ResponseParser::Deliver(std::string_view bytes, BodySink& sink) {
  body_bytes_ += bytes.size();
  if (status_ / 100 == 2) {
    sink.OnBody(bytes);
  } else if (error_body_.size() < kKeptErrorBody) {
    error_body_.append(bytes.substr(0, kKeptErrorBody - error_body_.size()));
  }
}

bool ResponseParser::ParseHead(std::string_view head) {
  // Status line: HTTP/1.x NNN reason
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
  status_ = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  if (status_ < 100) return false;
  const bool http10 = status_line.substr(5, 3) == "1.0";
  bool keep_alive = false;
  head_.assign(line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2));
  // The fields that frame the body or the connection; the workload reads any other via Header().
  for (size_t pos = 0; pos < head_.size();) {
    size_t eol = std::min(head_.find("\r\n", pos), head_.size());
    std::string_view field = std::string_view(head_).substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = field.substr(0, colon);
    std::string_view value = TrimLeft(field.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      content_length_ = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (IEquals(name, "transfer-encoding")) {
      chunked_ = IContains(value, "chunked");
    } else if (IEquals(name, "connection")) {
      if (IContains(value, "close")) close_ = true;
      if (IContains(value, "keep-alive")) keep_alive = true;
    }
  }
  if (http10 && !keep_alive) close_ = true;
  return true;
}

}  // namespace hangar::bench
