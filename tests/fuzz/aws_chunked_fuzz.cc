// The payload readers: MakePayloadReader picks one from the request's x-amz-content-sha256 (and
// x-amz-decoded-content-length), then the body is read to the end as S3 reads it, in uneven
// pieces. Covers the aws-chunked decoder in all three modes, its trailers and chunk signatures.
//
// Input: a raw HTTP request (fuzz_support.h). A header-signed request chains its chunk
// signatures from the Authorization header's signature under the key of the AWS documentation's
// examples (AKIAIOSFODNN7EXAMPLE), so the seeds taken from those examples verify end to end;
// the header signature itself is not checked here (sigv4_fuzz does that).
//
// Besides "no crash", the reader's contract is checked: errors are sticky, and a body that reads
// to the end has exactly the declared decoded length.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "auth/aws_chunked.h"
#include "auth/payload_reader.h"
#include "auth/sigv4.h"
#include "fuzz_support.h"

namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";  // the docs'

void Fail(const char* what) {
  std::fprintf(stderr, "aws_chunked_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hangar;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const HttpRequest request = fuzz::ParseRawRequest(input);

  // The signing material a verified header-signed request would carry.
  std::optional<auth::VerifiedRequest> verified;
  Result<std::optional<auth::SigV4Request>> sig = auth::ParseSigV4(request);
  if (sig.ok() && sig->has_value()) {
    const auth::SigV4Request& s = **sig;
    verified.emplace();
    verified->kind = s.kind;
    verified->scope = s.scope;
    verified->signing_key = auth::DeriveSigningKey(kSecret, s.scope);
    verified->seed_signature = s.signature;
    verified->amz_date = s.amz_date;
  }

  fuzz::PiecewiseReader raw(request.body, fuzz::PiecePattern(static_cast<uint32_t>(size)));
  Result<std::unique_ptr<auth::PayloadReader>> reader = auth::MakePayloadReader(
      raw, request, verified ? &*verified : nullptr, request.headers.Get("x-amz-content-sha256"));
  if (!reader.ok()) return 0;

  // The caller's buffer size varies too: S3 reads 64 KiB, small bodies may be read in less.
  const std::vector<size_t> wants = fuzz::PiecePattern(static_cast<uint32_t>(size / 7 + 3));
  std::string buffer(1 << 16, '\0');
  uint64_t total = 0;
  for (size_t i = 0;; ++i) {
    const size_t want = std::min(buffer.size(), std::max<size_t>(1, wants[i % wants.size()]));
    Result<size_t> n = (*reader)->Read(std::span<char>(buffer.data(), want));
    if (!n.ok()) {
      Result<size_t> again = (*reader)->Read(std::span<char>(buffer.data(), want));
      if (again.ok() || again.status().code() != n.status().code()) {
        Fail("a Read() error was not sticky");
      }
      return 0;
    }
    if (*n > want) Fail("Read() returned more than asked for");
    if (*n == 0) break;
    total += *n;
    if (total > request.body.size()) Fail("more payload than body");
  }
  const std::optional<uint64_t> declared = (*reader)->decoded_length();
  const bool chunked = dynamic_cast<auth::AwsChunkedReader*>(reader->get()) != nullptr;
  if (chunked && declared && *declared != total) {
    Fail("an aws-chunked body read to the end without its declared decoded length");
  }
  (void)(*reader)->trailers();
  return 0;
}
