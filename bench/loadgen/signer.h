#pragma once
// SigV4 request signing for the load generators, fast enough to sign every request of a run
// afresh, as an SDK would ("Create a signed AWS API request", AWS IAM User Guide; for S3,
// "Authenticating Requests: Using the Authorization Header", Amazon S3 API Reference). Only the
// day's signing key is reused. The server's own SigV4 code (src/auth) is the reference:
// MatchesServerSigV4 checks a signed head against it before a run.

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/digest.h"

namespace hangar::bench {

// The hex SHA-256 of a payload, without a heap allocation (computed for every request).
struct HexSha256 {
  explicit HexSha256(std::string_view data);
  std::string_view view() const { return std::string_view(text, sizeof text); }
  char text[64];
};

// The headers one kind of request carries and signs: Host and X-Amz-Date always,
// x-amz-content-sha256 when `content_sha256` (S3 wants it; KMS does not), and the workload's own
// fixed fields (content-type, x-amz-target, the SSE headers ...). Sorted once here, in the order
// the canonical request wants them. Immutable; may be shared between threads.
class SignedHeaders {
 public:
  // `fields`: lower-case names and their values.
  SignedHeaders(std::vector<std::pair<std::string, std::string>> fields, bool content_sha256);

  // The SignedHeaders list: "host;x-amz-date;..." in canonical order.
  const std::string& names() const { return names_; }

 private:
  friend class SigV4Signer;
  enum class Kind { kFixed, kHost, kDate, kPayloadHash };  // where the value comes from
  struct Entry {
    std::string name;
    std::string value;  // kFixed only
    Kind kind;
  };
  std::vector<Entry> entries_;  // sorted by name
  std::string names_;
};

// Builds the head (request line and headers) of signed requests for one credential scope.
// Not thread-safe: one per connection. Reuses its scratch buffers, so signing allocates nothing
// once they have grown.
class SigV4Signer {
 public:
  SigV4Signer(std::string access_key_id, std::string secret_access_key, std::string region,
              std::string service, std::string host_header);

  // Writes into `out` (cleared first; its capacity is kept) the request line and headers, through
  // the blank line, of `method` on `path` (already URI-encoded, no query). `payload_hash` is 64 hex
  // digits or UNSIGNED-PAYLOAD; Content-Length is sent when `content_length` is set.
  void BuildHead(std::string_view method, std::string_view path, std::string_view payload_hash,
                 std::optional<uint64_t> content_length, const SignedHeaders& headers,
                 std::string& out);

 private:
  void RefreshDate();

  const std::string access_key_id_;
  const std::string secret_;
  const std::string region_;
  const std::string service_;
  const std::string host_;
  std::time_t date_second_ = -1;
  char amz_date_[32] = {};
  std::string day_;
  std::string scope_;  // <date>/<region>/<service>/aws4_request
  crypto::Sha256Bytes signing_key_{};
  std::string canonical_;
  std::string string_to_sign_;
};

// Whether `head` (as BuildHead wrote it), parsed back and signed again by the server's SigV4 code
// (auth::CanonicalRequest, StringToSign, SignatureHex), carries the same signature.
// `normalize_path` is true for every service but S3.
bool MatchesServerSigV4(std::string_view head, std::string_view payload_hash,
                        std::string_view secret_access_key, bool normalize_path);

}  // namespace hangar::bench
