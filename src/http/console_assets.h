#pragma once
// ConsoleAssets: the web console's static files (console/, built by `make build`), read into
// memory once at start-up and served at /console/ on the API listener. The console is a browser
// client of the public APIs: these files are the same for everyone, so serving them needs no
// authentication and is not an API call (the router neither authenticates nor audits them).
// Every answer carries a strict Content-Security-Policy (scripts, styles and connections to this
// origin only; no inline code) and headers that forbid framing, sniffing and referrers.
// Owns its copy of every file. Thread-safe: immutable after Load.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/http_message.h"
#include "common/result.h"

namespace hangar::http {

class ConsoleAssets {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 64ULL << 20;
  static constexpr size_t kMaxFiles = 10000;

  // Reads every regular file below `dir` (its subdirectories too). Symbolic links below `dir`
  // are skipped, never followed, so nothing outside the tree is served; `dir` itself may be one.
  // A `dir` that does not exist gives an empty set, which answers every console path with the
  // "console not built" page.
  // Errors: kInternal when `dir` is not a directory, a file cannot be read, or the files exceed
  // `max_bytes` in all or kMaxFiles in number (the message names the directory and the limit).
  static Result<std::unique_ptr<ConsoleAssets>> Load(const std::string& dir,
                                                     uint64_t max_bytes = kDefaultMaxBytes);

  // Whether the raw request path is the console's: "/console" or anything below "/console/".
  static bool IsConsolePath(std::string_view path);

  // The answer to a GET or HEAD of a console path (the query is ignored): "/console" redirects
  // to "/console/", which is index.html; "/console/<path>" is that file, 304 when If-None-Match
  // names its ETag; anything else (no such file, "." or ".." segments, encoded or not, empty
  // segments, a bad escape) is 404. Other methods: 405.
  HttpResponse Serve(const HttpRequest& request) const;

  // A short text/plain page with the console's security headers, for a console request refused
  // before Serve (e.g. a GET with a body).
  static HttpResponse ErrorPage(int status, std::string_view message);

  bool empty() const { return assets_.empty(); }
  size_t file_count() const { return assets_.size(); }
  uint64_t total_bytes() const { return total_bytes_; }
  // The directory as given to Load.
  const std::string& dir() const { return dir_; }

 private:
  struct Asset {
    std::string body;
    std::string_view content_type;
    std::string etag;  // quoted: "<32 hex digits of the body's SHA-256>"
  };

  ConsoleAssets() = default;

  std::string dir_;
  // By path relative to dir_, '/'-separated, without a leading '/'.
  std::map<std::string, Asset, std::less<>> assets_;
  uint64_t total_bytes_ = 0;
};

}  // namespace hangar::http
