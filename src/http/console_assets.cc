#include "http/console_assets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "common/strings.h"
#include "crypto/digest.h"

namespace hangar::http {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "/console/";

// Same-origin everything, no inline script or style, no eval, no plugins, no framing: the console
// talks only to the server that served it, with the SDK's signed requests.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

constexpr std::string_view kNotBuiltPage =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Hangar console not built</title></head>\n<body><h1>The Hangar console is not built"
    "</h1>\n<p>This server has no console files to serve. <code>make build</code> builds them "
    "beside the <code>hangar</code> binary; <code>hangar serve --console-dir DIR</code> serves "
    "them from elsewhere. The AWS APIs on this port work without them.</p></body></html>\n";

struct ContentType {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<ContentType, 12> kContentTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".map", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".webmanifest", "application/manifest+json; charset=utf-8"},
}};

std::string_view ContentTypeOf(std::string_view name) {
  const std::string lower = ToLower(name);
  for (const ContentType& c : kContentTypes) {
    if (lower.ends_with(c.extension)) return c.type;
  }
  return "application/octet-stream";
}

void AddSecurityHeaders(HeaderList& headers) {
  headers.Set("Content-Security-Policy", kContentSecurityPolicy);
  headers.Set("X-Frame-Options", "DENY");
  headers.Set("X-Content-Type-Options", "nosniff");
  headers.Set("Referrer-Policy", "no-referrer");
  // Always revalidated (cheaply, by ETag): a new build is seen on the next load.
  headers.Set("Cache-Control", "no-cache");
}

HttpResponse Page(int status, std::string_view content_type, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.Add("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

// The asset a path below "/console/" names, or nullopt when it cannot name one: a bad escape, or
// a segment that is empty, "." or "..", or a NUL or backslash anywhere (after decoding, so that
// "%2e%2e" is refused like "..").
std::optional<std::string> AssetName(std::string_view path) {
  auto decoded = UriDecode(path.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  if (decoded->empty()) return "index.html";
  if (decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) {
    return std::nullopt;
  }
  std::string_view rest = *decoded;
  for (;;) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
    if (slash == std::string_view::npos) return decoded;
    rest.remove_prefix(slash + 1);
  }
}

// Whether If-None-Match names `etag` (weak comparison, RFC 9110 13.1.2) or is "*".
bool NoneMatchHits(std::string_view if_none_match, std::string_view etag) {
  std::string_view rest = if_none_match;
  for (;;) {
    const size_t comma = rest.find(',');
    std::string_view tag = Trim(rest.substr(0, comma));
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

// Reads one regular file without following a symbolic link put in its place since the walk saw
// it. `budget` is what the total may still grow by; a file beyond it is an error.
Result<std::string> ReadAsset(const fs::path& path, uint64_t budget, uint64_t max_bytes,
                              const std::string& dir) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return InternalError("console: cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::string body;
  Status status;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = InternalError("console: " + path.string() + " is not a regular file");
  } else {
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status =
            InternalError("console: cannot read " + path.string() + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      if (body.size() + static_cast<uint64_t>(n) > budget) {
        status = InternalError("console: the files in " + dir + " exceed " +
                               std::to_string(max_bytes) + " bytes");
        break;
      }
      body.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!status.ok()) return status;
  return body;
}

}  // namespace

Result<std::unique_ptr<ConsoleAssets>> ConsoleAssets::Load(const std::string& dir,
                                                           uint64_t max_bytes) {
  std::unique_ptr<ConsoleAssets> assets(new ConsoleAssets());
  assets->dir_ = dir;
  std::error_code ec;
  const fs::file_status root_status = fs::status(dir, ec);
  if (root_status.type() == fs::file_type::not_found) return assets;
  if (ec || !fs::is_directory(root_status)) {
    return InternalError("console: " + dir + " is not a readable directory");
  }
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return InternalError("console: cannot resolve " + dir + ": " + ec.message());
  // Directory symlinks are not followed (the default); file symlinks are skipped below.
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (!fs::is_regular_file(status)) continue;  // directories, symlinks, devices, sockets
    if (assets->assets_.size() >= kMaxFiles) {
      return InternalError("console: " + dir + " holds more than " + std::to_string(kMaxFiles) +
                           " files");
    }
    HANGAR_ASSIGN_OR_RETURN(
        std::string body, ReadAsset(it->path(), max_bytes - assets->total_bytes_, max_bytes, dir));
    std::string name = it->path().lexically_relative(root).generic_string();
    const crypto::Sha256Bytes digest = crypto::Sha256(body);
    Asset asset;
    asset.content_type = ContentTypeOf(name);
    asset.etag = "\"" + HexEncode(std::span<const uint8_t>(digest.data(), 16)) + "\"";
    assets->total_bytes_ += body.size();
    asset.body = std::move(body);
    assets->assets_.emplace(std::move(name), std::move(asset));
  }
  if (ec) return InternalError("console: cannot list " + dir + ": " + ec.message());
  return assets;
}

bool ConsoleAssets::IsConsolePath(std::string_view path) {
  return path == "/console" || path.starts_with(kPrefix);
}

HttpResponse ConsoleAssets::ErrorPage(int status, std::string_view message) {
  HttpResponse r = Page(status, "text/plain; charset=utf-8", std::string(message) + "\n");
  AddSecurityHeaders(r.headers);
  return r;
}

HttpResponse ConsoleAssets::Serve(const HttpRequest& request) const {
  const bool head = request.method == "HEAD";
  HttpResponse r;
  const Asset* asset = nullptr;
  if (!head && request.method != "GET") {
    r = Page(405, "text/plain; charset=utf-8", "Use GET or HEAD.\n");
    r.headers.Add("Allow", "GET, HEAD");
  } else if (request.path == "/console") {
    r.status = 302;
    r.headers.Add("Location", kPrefix);
  } else if (empty()) {
    r = Page(404, "text/html; charset=utf-8", std::string(kNotBuiltPage));
  } else if (auto name = AssetName(request.path); name) {
    if (auto found = assets_.find(*name); found != assets_.end()) asset = &found->second;
  }
  if (asset != nullptr) {
    r.headers.Add("ETag", asset->etag);
    const std::string* if_none_match = request.headers.Find("if-none-match");
    if (if_none_match != nullptr && NoneMatchHits(*if_none_match, asset->etag)) {
      r.status = 304;
    } else {
      r.headers.Add("Content-Type", asset->content_type);
      r.body = asset->body;
    }
  } else if (r.status == 200) {
    r = Page(404, "text/plain; charset=utf-8", "Not found.\n");
  }
  AddSecurityHeaders(r.headers);
  if (head && r.status != 304) {
    // HEAD: the entity's length, no body (the server sends none either way).
    r.headers.Add("Content-Length", std::to_string(r.body.size()));
    r.body.clear();
  }
  return r;
}

}  // namespace hangar::http
