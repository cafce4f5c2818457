// SigV4 parsing and verification of one request: PeekSigV4Service, ParseSigV4 (Authorization
// header or presigned query), then SigV4Verifier::CheckBeforeBody and Verify against in-memory
// credentials, as the router calls them.
//
// Input: a raw HTTP request (fuzz_support.h, ParseRawRequest), e.g. a tests/data/sigv4 vector.
// The verifier's clock stands at the request's own X-Amz-Date, moved by an offset the input's
// length picks, so that the time window passes or fails by choice rather than by today's date.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "auth/sigv4.h"
#include "crypto/digest.h"
#include "fuzz_support.h"

namespace hangar::fuzz {
namespace {

using std::chrono::minutes;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";  // the vectors'
constexpr std::string_view kToken =
    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";

class SettableClock final : public Clock {
 public:
  TimePoint Now() const override { return now; }
  TimePoint now;
};

// Keys in every state the verifier distinguishes; AKIDEXAMPLE is the vectors' key.
class Credentials final : public auth::CredentialProvider {
 public:
  explicit Credentials(const Clock& clock) : clock_(clock) {}

  Result<auth::AccessKey> FindAccessKey(std::string_view id) const override {
    if (id == "AKIDFAILING") return InternalError("storage failure");
    auth::AccessKey key;
    key.principal.type = auth::PrincipalType::kUser;
    key.principal.account_id = std::string(kAccountId);
    key.principal.arn = "arn:aws:iam::111122223333:user/alice";
    key.principal.name = "alice";
    key.principal.access_key_id = std::string(id);
    key.secret_access_key = SecretBytes(AsBytes(kSecret));
    if (id == "AKIDEXAMPLE") return key;
    if (id == "AKIDINACTIVE") {
      key.active = false;
      return key;
    }
    if (id == "ASIATEMPORARY") {  // a session key whose token the request must carry
      key.session_token = std::string(kToken);
      key.expires_at = clock_.Now() + minutes(30);
      return key;
    }
    if (id == "ASIAHASHED") {  // as IdentityStore keeps tokens: only their hash
      key.session_token_hash = crypto::Sha256Hex(kToken);
      key.expires_at = clock_.Now() + minutes(30);
      return key;
    }
    if (id == "ASIAEXPIRED") {
      key.session_token = std::string(kToken);
      key.expires_at = clock_.Now() - minutes(1);
      return key;
    }
    return Error(ErrorCode::kUnknownAccessKey, "unknown");
  }

 private:
  const Clock& clock_;
};

struct Harness {
  SettableClock clock;
  Credentials credentials{clock};
  auth::SigV4Verifier verifier{credentials, clock, [] {
                                 auth::SigV4Verifier::Options options;
                                 options.regions = {"us-east-1", "eu-west-1"};
                                 return options;
                               }()};
};

}  // namespace
}  // namespace hangar::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hangar;
  static fuzz::Harness* harness = new fuzz::Harness();
  const HttpRequest request =
      fuzz::ParseRawRequest(std::string_view(reinterpret_cast<const char*>(data), size));

  (void)auth::PeekSigV4Service(request);
  Result<std::optional<auth::SigV4Request>> parsed = auth::ParseSigV4(request);
  if (!parsed.ok() || !parsed->has_value()) return 0;
  const auth::SigV4Request& sig = **parsed;

  // Fresh, slightly off, too skewed, or (presigned) expired.
  static constexpr std::chrono::minutes kOffsets[] = {
      std::chrono::minutes(0), std::chrono::minutes(14), std::chrono::minutes(-16),
      std::chrono::minutes(24 * 60 * 8)};
  harness->clock.now = sig.request_time + kOffsets[size % 4];

  if (!harness->verifier.CheckBeforeBody(request, sig).ok()) return 0;
  const std::string* claimed = request.headers.Find("x-amz-content-sha256");
  const std::string payload_hash = claimed ? *claimed : crypto::Sha256Hex(request.body);
  (void)harness->verifier.Verify(request, sig, payload_hash);
  return 0;
}
