#pragma once
// What several fuzz targets share: a per-process scratch directory, the raw-HTTP input format,
// a body reader that hands bytes out in uneven pieces, and the real services wired as
// src/app/main.cc wires them (SQLite metadata, file blobs, KMS, IAM, S3) on that directory.
//
// Targets must reproduce a crash from its input alone, so every service target runs against a
// fixed clock and restores the state an input may have changed before the next one runs.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/data_dir.h"
#include "app/kms_gateway.h"
#include "auth/request_context.h"
#include "common/clock.h"
#include "common/http_message.h"
#include "iam/identity_store.h"
#include "kms/key_repository.h"
#include "kms/key_service.h"
#include "kms/kms_api.h"
#include "kms/policy_authorizer.h"
#include "s3/access.h"
#include "s3/s3_api.h"
#include "s3/s3_repository.h"
#include "s3/s3_service.h"
#include "s3/sse.h"
#include "store/blob_store.h"

namespace hangar::fuzz {

// Silences logging (the services log every refusal; at thousands of runs a second that is noise).
void QuietLogs();

// This process's scratch directory, created on first use under $TMPDIR and removed at exit.
// Directories left by earlier processes that died (a crash ends a fuzzer with _Exit, skipping
// clean-up) are removed when the next one starts.
const std::string& ScratchDir();

// A request written as raw HTTP/1.1, as the SigV4 test vectors (tests/data/sigv4) write them:
// request line, header lines (a line starting with a blank continues the previous value), an
// empty line, the body. CR before LF is optional. Never fails: missing parts stay empty.
HttpRequest ParseRawRequest(std::string_view raw);

// Hands out `data` in pieces whose sizes cycle through `pieces` (never more than asked for), so
// that decoders meet every split of their input across reads.
class PiecewiseReader final : public BodyReader {
 public:
  PiecewiseReader(std::string_view data, std::vector<size_t> pieces);
  Result<size_t> Read(std::span<char> into) override;

 private:
  std::string_view data_;
  std::vector<size_t> pieces_;
  size_t next_piece_ = 0;
  size_t offset_ = 0;
};

// A deterministic piece-size pattern chosen by `selector` (e.g. a byte of the input).
std::vector<size_t> PiecePattern(uint32_t selector);

inline constexpr std::string_view kAccountId = "111122223333";
inline constexpr std::string_view kRootAccessKeyId = "AKIAFUZZROOT00000001";
inline constexpr std::string_view kRootSecret = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";
inline constexpr std::string_view kRegion = "us-east-1";
// 2026-01-01T00:00:00Z: every service target runs at this instant.
inline constexpr int64_t kFixedTimeMs = 1'767'225'600'000;

// A request context of the account root of `account`.
auth::RequestContext RootContext(std::string_view account, const Clock& clock);

// The real services on ScratchDir(), built once per process (as src/app/main.cc builds them).
struct Services {
  static Services& Get();

  OffsetClock clock{FromUnixMillis(kFixedTimeMs)};
  app::DataDir dir;
  std::unique_ptr<iam::IdentityStore> identities;
  std::unique_ptr<kms::PolicyKeyAuthorizer> kms_authorizer;
  std::unique_ptr<kms::KeyRepository> key_repository;
  std::unique_ptr<kms::KeyService> key_service;
  std::unique_ptr<kms::KmsApi> kms_api;
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<s3::S3Repository> s3_repository;
  std::unique_ptr<app::KeyServiceGateway> kms_gateway;
  std::unique_ptr<s3::SseEngine> sse;
  std::unique_ptr<s3::S3Access> s3_access;
  std::unique_ptr<s3::S3Service> s3_service;
  std::unique_ptr<s3::S3Api> s3_api;

 private:
  Services();
};

// Aborts with `what` and the status when `status` is not OK: set-up failures are harness bugs.
void Require(const Status& status, std::string_view what);
template <typename T>
T Require(Result<T> result, std::string_view what) {
  Require(result.status(), what);
  return std::move(result).value();
}

}  // namespace hangar::fuzz
