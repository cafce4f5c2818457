#include "loadgen/signer.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "auth/sigv4.h"
#include "common/http_message.h"
#include "crypto/hmac.h"

namespace hangar::bench {
namespace {

void HexInto(const crypto::Sha256Bytes& bytes, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

}  // namespace

HexSha256::HexSha256(std::string_view data) { HexInto(crypto::Sha256(data), text); }

SignedHeaders::SignedHeaders(std::vector<std::pair<std::string, std::string>> fields,
                             bool content_sha256) {
  entries_.push_back({"host", "", Kind::kHost});
  entries_.push_back({"x-amz-date", "", Kind::kDate});
  if (content_sha256) entries_.push_back({"x-amz-content-sha256", "", Kind::kPayloadHash});
  for (auto& [name, value] : fields) entries_.push_back({name, std::move(value), Kind::kFixed});
  // SigV4 lists canonical headers, and names them in SignedHeaders, sorted by name.
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (const Entry& e : entries_) {
    if (!names_.empty()) names_ += ';';
    names_ += e.name;
  }
}

SigV4Signer::SigV4Signer(std::string access_key_id, std::string secret_access_key,
                         std::string region, std::string service, std::string host_header)
    : access_key_id_(std::move(access_key_id)),
      secret_(std::move(secret_access_key)),
      region_(std::move(region)),
      service_(std::move(service)),
      host_(std::move(host_header)) {
  canonical_.reserve(512);
  string_to_sign_.reserve(256);
}

void SigV4Signer::BuildHead(std::string_view method, std::string_view path,
                            std::string_view payload_hash, std::optional<uint64_t> content_length,
                            const SignedHeaders& headers, std::string& out) {
  RefreshDate();
  const std::string_view amz_date(amz_date_, 16);
  auto value_of = [&](const SignedHeaders::Entry& e) -> std::string_view {
    switch (e.kind) {
      case SignedHeaders::Kind::kHost:
        return host_;
      case SignedHeaders::Kind::kDate:
        return amz_date;
      case SignedHeaders::Kind::kPayloadHash:
        return payload_hash;
      case SignedHeaders::Kind::kFixed:
        break;
    }
    return e.value;
  };
  // 1. Canonical request: method, URI, query (none), the signed headers, their names, payload hash.
  canonical_.clear();
  canonical_.append(method).append("\n").append(path).append("\n\n");
  for (const auto& e : headers.entries_) {
    canonical_.append(e.name).append(":").append(value_of(e)).append("\n");
  }
  canonical_.append("\n").append(headers.names()).append("\n").append(payload_hash);
  // 2. String to sign: algorithm, request time, scope, hash of the canonical request.
  const HexSha256 canonical_hash(canonical_);
  string_to_sign_.clear();
  string_to_sign_.append("AWS4-HMAC-SHA256\n").append(amz_date).append("\n");
  string_to_sign_.append(scope_).append("\n").append(canonical_hash.view());
  // 3. Signature: HMAC of the string to sign under the day's signing key.
  char signature[64];
  HexInto(crypto::HmacSha256(signing_key_, string_to_sign_), signature);
  // 4. The head itself: the signed headers as signed, then Authorization and Content-Length.
  out.clear();
  out.append(method).append(" ").append(path).append(" HTTP/1.1");
  for (const auto& e : headers.entries_) {
    out.append("\r\n").append(e.kind == SignedHeaders::Kind::kHost ? "Host" : e.name);
    out.append(": ").append(value_of(e));
  }
  out.append("\r\nAuthorization: AWS4-HMAC-SHA256 Credential=").append(access_key_id_);
  out.append("/").append(scope_).append(", SignedHeaders=").append(headers.names());
  out.append(", Signature=").append(signature, sizeof signature);
  if (content_length) {
    char length[24];
    int n = std::snprintf(length, sizeof length, "%" PRIu64, *content_length);
    out.append("\r\nContent-Length: ").append(length, static_cast<size_t>(n));
  }
  out.append("\r\n\r\n");
}

// X-Amz-Date follows the wall clock to the second; the signing key changes with the date.
void SigV4Signer::RefreshDate() {
  std::time_t now = std::time(nullptr);
  if (now == date_second_) return;
  date_second_ = now;
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(amz_date_, sizeof amz_date_, "%Y%m%dT%H%M%SZ", &tm);
  std::string day(amz_date_, 8);
  if (day == day_) return;
  day_ = day;
  auth::SigV4Scope scope{access_key_id_, day_, region_, service_};
  scope_ = scope.ToString();
  signing_key_ = auth::DeriveSigningKey(secret_, scope);
}

bool MatchesServerSigV4(std::string_view head, std::string_view payload_hash,
                        std::string_view secret_access_key, bool normalize_path) {
  // Request line: METHOD SP PATH SP HTTP/1.1
  const size_t line_end = head.find("\r\n");
  const size_t header_end = head.find("\r\n\r\n");
  if (line_end == std::string_view::npos || header_end == std::string_view::npos) return false;
  std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) return false;
  HttpRequest req;
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  req.path = req.target;
  for (size_t pos = line_end + 2; pos < header_end;) {
    size_t eol = head.find("\r\n", pos);
    std::string_view field = head.substr(pos, eol - pos);
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) return false;
    req.headers.Add(field.substr(0, colon), field.substr(colon + 2));
    pos = eol + 2;
  }
  auto sig = auth::ParseSigV4(req);
  if (!sig.ok() || !sig->has_value()) return false;
  std::string canonical = auth::CanonicalRequest(req, **sig, payload_hash, normalize_path);
  std::string expected =
      auth::SignatureHex(auth::DeriveSigningKey(secret_access_key, (*sig)->scope),
                         auth::StringToSign(**sig, canonical));
  return expected == (*sig)->signature;
}

}  // namespace hangar::bench
