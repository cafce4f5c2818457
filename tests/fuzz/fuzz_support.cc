#include "fuzz_support.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "crypto/random.h"
#include "store/fs/fs_blob_store.h"

namespace hangar::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kScratchPrefix = "hangar-fuzz-";

// Removes scratch directories whose process is gone (their names carry the pid).
void SweepAbandoned(const fs::path& base) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kScratchPrefix)) continue;
    const long pid = std::strtol(name.c_str() + kScratchPrefix.size(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    fs::remove_all(entry.path(), ec);
  }
}

std::string* scratch_dir = nullptr;

void RemoveScratchDir() {
  std::error_code ec;
  if (scratch_dir != nullptr) fs::remove_all(*scratch_dir, ec);
}

}  // namespace

void QuietLogs() { spdlog::set_level(spdlog::level::off); }

const std::string& ScratchDir() {
  if (scratch_dir != nullptr) return *scratch_dir;
  const char* tmp = std::getenv("TMPDIR");
  const fs::path base = tmp != nullptr && *tmp != '\0' ? fs::path(tmp) : fs::path("/tmp");
  SweepAbandoned(base);
  const fs::path dir = base / (std::string(kScratchPrefix) + std::to_string(::getpid()) + "-" +
                               crypto::RandomString(8, "abcdefghijklmnopqrstuvwxyz"));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "fuzz: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    std::abort();
  }
  scratch_dir = new std::string(dir.string());
  std::atexit(RemoveScratchDir);
  return *scratch_dir;
}

HttpRequest ParseRawRequest(std::string_view raw) {
  HttpRequest request;
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t nl = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, nl == std::string_view::npos ? raw.npos : nl - pos);
    pos = nl == std::string_view::npos ? raw.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() && !lines.empty()) {
      request.body = std::string(raw.substr(pos));
      break;
    }
    lines.push_back(line);
  }
  if (lines.empty()) return request;

  // Request line: METHOD SP target [SP HTTP/x.y]; the vectors' targets may contain spaces.
  std::string_view line = lines[0];
  const size_t first = line.find(' ');
  request.method = std::string(line.substr(0, first));
  std::string_view target = first == std::string_view::npos ? "" : line.substr(first + 1);
  const size_t last = target.rfind(' ');
  if (last != std::string_view::npos && target.substr(last + 1).starts_with("HTTP/")) {
    target = target.substr(0, last);
  }
  request.target = std::string(target);
  const size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  request.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));

  std::vector<std::pair<std::string, std::string>> headers;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view header = lines[i];
    if ((header.front() == ' ' || header.front() == '\t') && !headers.empty()) {
      headers.back().second += " ";  // obsolete line folding
      headers.back().second += header;
      continue;
    }
    const size_t colon = header.find(':');
    std::string_view value = colon == std::string_view::npos ? "" : header.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    headers.emplace_back(std::string(header.substr(0, colon)), std::string(value));
  }
  for (const auto& [name, value] : headers) request.headers.Add(name, value);
  if (!request.body.empty()) request.content_length = request.body.size();
  return request;
}

PiecewiseReader::PiecewiseReader(std::string_view data, std::vector<size_t> pieces)
    : data_(data), pieces_(std::move(pieces)) {
  if (pieces_.empty()) pieces_.push_back(data_.size() + 1);
}

Result<size_t> PiecewiseReader::Read(std::span<char> into) {
  const size_t piece = std::max<size_t>(1, pieces_[next_piece_++ % pieces_.size()]);
  const size_t n = std::min({into.size(), data_.size() - offset_, piece});
  std::copy_n(data_.data() + offset_, n, into.data());
  offset_ += n;
  return n;
}

std::vector<size_t> PiecePattern(uint32_t selector) {
  switch (selector % 6) {
    case 0:
      return {1 << 20};  // everything at once
    case 1:
      return {1};  // a byte at a time
    case 2:
      return {2, 1, 3};  // splits inside CRLF and short lines
    case 3:
      return {7, 64, 4096, 13};
    case 4:
      return {65536, 1, 65535};  // around the decoders' 64 KiB buffers
    default:
      return {3 + selector % 61};  // a steady odd size
  }
}

auth::RequestContext RootContext(std::string_view account, const Clock& clock) {
  auth::RequestContext ctx;
  ctx.principal.type = auth::PrincipalType::kRoot;
  ctx.principal.account_id = std::string(account);
  ctx.principal.arn = "arn:aws:iam::" + std::string(account) + ":root";
  ctx.principal.user_id = std::string(account);
  ctx.principal.access_key_id = std::string(kRootAccessKeyId);
  ctx.region = std::string(kRegion);
  ctx.request_id = "fuzz";
  ctx.source_ip = "127.0.0.1";
  ctx.now = clock.Now();
  ctx.auth_type = "REST-HEADER";
  return ctx;
}

void Require(const Status& status, std::string_view what) {
  if (status.ok()) return;
  std::fprintf(stderr, "fuzz: %.*s failed: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  std::abort();
}

Services& Services::Get() {
  static Services* services = new Services();  // never destroyed: the process just exits
  return *services;
}

Services::Services() {
  QuietLogs();
  const std::string& root = ScratchDir();
  dir = Require(app::OpenDataDir(root + "/data", app::RootKeySource{}), "OpenDataDir");
  identities = std::make_unique<iam::IdentityStore>(*dir.metadata, *dir.root_key, clock);
  Require(identities->EnsureDefaultAccount(std::string(kAccountId), std::string(kRootAccessKeyId),
                                           std::string(kRootSecret)),
          "EnsureDefaultAccount");
  kms_authorizer =
      std::make_unique<kms::PolicyKeyAuthorizer>(*identities, kms::KeyPolicyGuardrails{});
  key_repository = std::make_unique<kms::KeyRepository>(*dir.metadata, *dir.root_key);
  key_service =
      std::make_unique<kms::KeyService>(*key_repository, *kms_authorizer, clock, kms::KmsOptions{});
  kms_api = std::make_unique<kms::KmsApi>(*key_service);
  blobs = Require(store::FsBlobStore::OpenAt(root + "/data/blobs"), "FsBlobStore::OpenAt");
  s3_repository = std::make_unique<s3::S3Repository>(*dir.metadata);
  kms_gateway = std::make_unique<app::KeyServiceGateway>(*key_service);
  sse = std::make_unique<s3::SseEngine>(*kms_gateway, *dir.root_key, clock, s3::SseOptions{});
  s3_access = std::make_unique<s3::S3Access>(*identities);
  s3_service = std::make_unique<s3::S3Service>(*s3_repository, *blobs, *sse, *s3_access, clock,
                                               s3::S3Options{});
  s3_api = std::make_unique<s3::S3Api>(*s3_service, s3::S3ApiOptions{});
}

}  // namespace hangar::fuzz
