// kms_load: a closed-loop load generator for the KMS JSON 1.1 protocol, used by kms_bench.py to
// compare Hangar with its peers (moto_server) on the same machine and workload.
//
// The workload: every request is a SigV4-signed `POST /` with `X-Amz-Target: TrentService.<Op>`
// and the same JSON body, signed afresh as an SDK would (hex SHA-256 of the body, canonical
// request, string to sign, HMAC with the day's signing key). A request succeeds when the answer is
// HTTP 200 and names a `KeyId`. Connections, run control, statistics and the output format are
// bench/loadgen's, shared with s3_load.
//
// Output: one JSON line on stdout per run (for the driver; fields in bench/README.md), a
// human-readable line on stderr. Exit status: 0 when every request got a well-formed 200 answer,
// 1 when any failed, 2 on usage or setup errors.

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "crypto/base64.h"
#include "crypto/random.h"
#include "loadgen/aws_error.h"
#include "loadgen/closed_loop.h"
#include "loadgen/one_shot.h"
#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/signer.h"

namespace hangar::bench {
namespace {

constexpr std::string_view kContentType = "application/x-amz-json-1.1";
constexpr size_t kMaxResponse = 1 << 20;  // a KMS response is a few hundred bytes

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  LoadOptions load;
  std::string op = "GenerateDataKey";
  std::string algorithm;  // Sign / Verify: SigningAlgorithm; GenerateMac: MacAlgorithm
  std::string key_id;
};

LoadOptions Defaults() {
  LoadOptions d;
  d.connections = 64;
  d.timeout_s = 30;
  return d;
}

void Usage() {
  std::cerr << "usage: kms_load --port PORT --key-id KEY [options]\n"
               "  --op OP                GenerateDataKey | Encrypt | Decrypt | Sign | Verify |\n"
               "                         GenerateMac (default GenerateDataKey)\n"
               "  --key-id KEY           key id, ARN or alias of a key that suits OP (required)\n"
               "  --algorithm ALG        SigningAlgorithm (Sign, Verify) or MacAlgorithm "
               "(GenerateMac)\n"
            << LoadOptionsUsage(Defaults());
}

std::optional<Options> ParseArgs(int argc, char** argv) {
  Options o;
  o.load = Defaults();
  auto tool_option = [&o](std::string_view name, const std::string& value) {
    if (name == "--op")
      o.op = value;
    else if (name == "--algorithm")
      o.algorithm = value;
    else if (name == "--key-id")
      o.key_id = value;
    else
      return false;
    return true;
  };
  if (!ParseCommandLine(argc, argv, "kms_load", {}, o.load, tool_option)) return std::nullopt;
  if (!LoadOptionsValid(o.load) || o.key_id.empty()) {
    std::cerr << "kms_load: --port, --key-id and credentials are required; counts must be "
                 "positive\n";
    return std::nullopt;
  }
  const bool needs_algorithm = o.op == "Sign" || o.op == "Verify" || o.op == "GenerateMac";
  if (o.op != "GenerateDataKey" && o.op != "Encrypt" && o.op != "Decrypt" && !needs_algorithm) {
    std::cerr << "kms_load: --op must be GenerateDataKey, Encrypt, Decrypt, Sign, Verify or "
                 "GenerateMac\n";
    return std::nullopt;
  }
  if (needs_algorithm && o.algorithm.empty()) {
    std::cerr << "kms_load: --op " << o.op << " needs --algorithm\n";
    return std::nullopt;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Requests

// KMS signs content-type and x-amz-target besides host and x-amz-date, and no payload-hash header.
SignedHeaders KmsHeaders(std::string_view target) {
  return SignedHeaders(
      {{"content-type", std::string(kContentType)}, {"x-amz-target", std::string(target)}},
      /*content_sha256=*/false);
}

// Writes the whole signed request for `body` into `out`.
void BuildRequest(SigV4Signer& signer, const SignedHeaders& headers, std::string_view body,
                  std::string& out) {
  signer.BuildHead("POST", "/", HexSha256(body).view(), body.size(), headers, out);
  out.append(body);
}

SigV4Signer NewSigner(const LoadOptions& o) {
  return SigV4Signer(o.access_key_id, o.secret_access_key, o.region, "kms", o.HostHeader());
}

// Every successful answer to the operations kms_load drives names the key.
bool LooksLikeSuccess(std::string_view body) {
  return body.find("\"KeyId\"") != std::string_view::npos;
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

// One connection's requests: the same operation and body every time, each signed afresh.
class KmsExchange : public Exchange {
 public:
  KmsExchange(const LoadOptions& o, const SignedHeaders& headers, std::string_view body)
      : signer_(NewSigner(o)), headers_(headers), body_(body) {
    response_.reserve(1024);
  }

  uint64_t Begin(uint64_t, std::string& out) override {
    response_.clear();
    BuildRequest(signer_, headers_, body_, out);
    return 0;  // the body went with the head
  }

  void OnBody(std::string_view bytes) override {
    if (response_.size() < kMaxResponse) response_.append(bytes);
  }

  std::string Check(const ResponseParser&) override {
    if (LooksLikeSuccess(response_)) return {};
    return "HTTP 200 without a KeyId: " + response_.substr(0, 300);
  }

 private:
  SigV4Signer signer_;  // one per connection: a signer is not thread-safe
  const SignedHeaders& headers_;
  std::string_view body_;
  std::string response_;  // the body of the answer being read
};

class KmsWorkload : public Workload {
 public:
  KmsWorkload(const LoadOptions& o, std::string_view target, std::string body)
      : o_(o), headers_(KmsHeaders(target)), body_(std::move(body)) {}
  std::unique_ptr<Exchange> NewExchange() const override {
    return std::make_unique<KmsExchange>(o_, headers_, body_);
  }

 private:
  const LoadOptions& o_;
  const SignedHeaders headers_;
  const std::string body_;
};

// ---------------------------------------------------------------------------------------------
// Set-up

// A blocking call for set-up: an Encrypt for the Decrypt run's ciphertext, a Sign for Verify, the
// preflight.
std::optional<OneShotResponse> Call(const LoadOptions& o, SigV4Signer& signer,
                                    std::string_view target, std::string_view body,
                                    std::string& error) {
  std::string request;
  BuildRequest(signer, KmsHeaders(target), body, request);
  return RoundTrip(o.host, o.port, request, error);
}

std::string Describe(const std::optional<OneShotResponse>& r, const std::string& error) {
  return r ? "HTTP " + std::to_string(r->status) + " " + r->body : error;
}

// Cross-checks the signer against the server's own SigV4 code (src/auth).
bool SelfCheckSigner(const LoadOptions& o, SigV4Signer& signer, std::string_view target,
                     std::string_view body) {
  std::string raw;
  BuildRequest(signer, KmsHeaders(target), body, raw);
  std::string_view head = std::string_view(raw).substr(0, raw.size() - body.size());
  return MatchesServerSigV4(head, HexSha256(body).view(), o.secret_access_key,
                            /*normalize_path=*/true);
}

// The request body of the run. Decrypt needs a ciphertext and Verify a signature from this
// server, made here; every op then gets one preflight request, so that a wrong key or wrong
// credentials fail fast with the server's message. nullopt after saying why.
std::optional<std::string> PrepareBody(const Options& o, SigV4Signer& signer,
                                       const std::string& target) {
  std::string plaintext_b64;
  {
    uint8_t plaintext[32];
    crypto::RandomBytes(plaintext);
    plaintext_b64 = crypto::Base64Encode(std::span<const uint8_t>(plaintext));
  }
  // The key id is ours (no quotes or backslashes expected) but quote it anyway.
  const std::string key = "{\"KeyId\":" + JsonQuote(o.key_id);
  const std::string encrypt_body = key + ",\"Plaintext\":\"" + plaintext_b64 + "\"}";
  // Sign / Verify / GenerateMac: a 32-byte message, as a signed telemetry frame or token.
  const std::string sign_body =
      key + ",\"Message\":\"" + plaintext_b64 + "\",\"SigningAlgorithm\":" + JsonQuote(o.algorithm);
  std::string body;
  if (o.op == "GenerateDataKey") {
    body = key + ",\"KeySpec\":\"AES_256\"}";
  } else if (o.op == "Encrypt") {
    body = encrypt_body;
  } else if (o.op == "Sign") {
    body = sign_body + "}";
  } else if (o.op == "GenerateMac") {
    body = key + ",\"Message\":\"" + plaintext_b64 +
           "\",\"MacAlgorithm\":" + JsonQuote(o.algorithm) + "}";
  }

  if (!SelfCheckSigner(o.load, signer, target, encrypt_body)) {
    std::cerr << "kms_load: the request signer disagrees with auth::CanonicalRequest\n";
    return std::nullopt;
  }
  std::string error;
  if (o.op == "Decrypt") {
    auto r = Call(o.load, signer, "TrentService.Encrypt", encrypt_body, error);
    if (!r || r->status != 200) {
      std::cerr << "kms_load: setup Encrypt failed: " << Describe(r, error) << "\n";
      return std::nullopt;
    }
    auto blob = JsonStringField(r->body, "CiphertextBlob");
    if (!blob) {
      std::cerr << "kms_load: setup Encrypt returned no CiphertextBlob: " << r->body << "\n";
      return std::nullopt;
    }
    body = "{\"CiphertextBlob\":\"" + *blob + "\"}";
  }
  if (o.op == "Verify") {
    auto r = Call(o.load, signer, "TrentService.Sign", sign_body + "}", error);
    auto signature = r && r->status == 200 ? JsonStringField(r->body, "Signature") : std::nullopt;
    if (!signature) {
      std::cerr << "kms_load: setup Sign failed: " << Describe(r, error) << "\n";
      return std::nullopt;
    }
    body = sign_body + ",\"Signature\":\"" + *signature + "\"}";
  }
  auto r = Call(o.load, signer, target, body, error);
  if (!r || r->status != 200 || !LooksLikeSuccess(r->body)) {
    std::cerr << "kms_load: preflight " << o.op << " failed: " << Describe(r, error) << "\n";
    return std::nullopt;
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// main

int Main(int argc, char** argv) {
  auto parsed = ParseArgs(argc, argv);
  if (!parsed) {
    Usage();
    return 2;
  }
  const Options o = *parsed;
  const std::string target = "TrentService." + o.op;
  SigV4Signer setup_signer = NewSigner(o.load);
  std::optional<std::string> body = PrepareBody(o, setup_signer, target);
  if (!body) return 2;

  char what[32];
  std::snprintf(what, sizeof what, "%-16s", o.op.c_str());
  ToolReport report{"kms_load", what,
                    [&o](JsonObjectWriter& json, const RunResult&) { json.String("op", o.op); },
                    nullptr};
  return RunAndReport(o.load, KmsWorkload(o.load, target, std::move(*body)), report);
}

}  // namespace
}  // namespace hangar::bench

int main(int argc, char** argv) { return hangar::bench::Main(argc, argv); }
