// s3_load: a closed-loop load generator for S3 PUT and GET, used by s3_bench.py to compare Hangar
// with its peers (moto_server, s3rver, nginx serving the same bytes as static files) on the same
// machine and workload.
//
// N keep-alive connections each keep exactly one request in flight (no pipelining): send a
// SigV4-signed `PUT /<bucket>/<key>` or `GET /<bucket>/<key>`, read the whole response, check it,
// send the next. Every request is signed afresh, as an SDK would ("Signature Version 4 signing
// process", Amazon S3 API Reference, "Authenticating Requests: Using the Authorization Header"):
// x-amz-content-sha256 is the hex SHA-256 of the body (of the empty string for GET), or
// UNSIGNED-PAYLOAD for large PUTs with --unsigned-payload (the body is then streamed and hashed by
// nobody on the client, as the AWS CLI does over TLS). Only the day's signing key is reused.
//
// Object bodies are generated, never held whole: object k's bytes are a 1 MiB pseudo-random
// pattern read from offset k * 4099 onwards, cyclically, so every object differs, any byte range of
// any object is a slice of one 2 MiB buffer, a 256 MiB PUT streams from that buffer with no copy,
// and a GET can be verified against it (--verify) without a reference copy. `--op fill-dir` writes
// the same objects as files (<dir>/<bucket>/<key>) for a static web server to serve.
//
// Keys are <prefix><8-digit index>, index = request number modulo --objects, so consecutive
// requests touch different objects and a run of --objects requests writes all of them.
//
// Server-side encryption per request (off by default): --sse, --sse-kms-key-id and
// --sse-bucket-key add x-amz-server-side-encryption, -aws-kms-key-id and -bucket-key-enabled to
// every PUT; --sse-c-key adds the three SSE-C headers (customer-algorithm AES256, key, key-MD5) to
// every PUT and GET ("Using server-side encryption", Amazon S3 User Guide). Like every x-amz-*
// header they are signed. --expect-sse checks that each successful response says it was encrypted;
// --expect-kms-key-id and --expect-bucket-key check that it names the KMS key and the Bucket Key.
//
// This file is the workload only: which request to send and how to judge its answer. Connections,
// the response parser, run control, statistics and the output format are bench/loadgen's, shared
// with kms_load.
//
// Output: one JSON line on stdout (for the driver; fields in bench/README.md), a human-readable
// line on stderr.
// Exit status: 0 when every request succeeded, 1 when any failed, 2 on usage or setup errors.

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "loadgen/closed_loop.h"
#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/signer.h"

namespace hangar::bench {
namespace {

constexpr size_t kPatternSize = 1 << 20;          // the cyclic pattern objects are cut from
constexpr size_t kMaxChunk = kPatternSize;        // largest slice handed out at once
constexpr uint64_t kKeyStride = 4099;             // object k starts at pattern offset k * stride
constexpr uint64_t kMaxBodyWithHead = 64 * 1024;  // smaller PUT bodies go out with the head

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  LoadOptions load;
  std::string op = "get";  // put | get | fill-dir
  std::string bucket;
  std::string prefix = "obj/";
  uint64_t size = 4096;
  uint64_t objects = 1000;
  uint64_t first_request = 0;  // request numbering starts here (keys follow it)
  std::string dir;             // fill-dir target
  bool unsigned_payload = false;
  bool verify = false;
  bool preflight = true;
  // Server-side encryption headers; empty = not sent.
  std::string sse;                 // PUT: x-amz-server-side-encryption (AES256, aws:kms, ...)
  std::string sse_kms_key_id;      // PUT: x-amz-server-side-encryption-aws-kms-key-id
  std::string sse_bucket_key;      // PUT: x-amz-server-side-encryption-bucket-key-enabled
  std::string sse_c_key;           // PUT and GET: SSE-C key, base64 of 32 bytes
  std::string expect_sse;          // every 200 names this algorithm (SSE-C: the customer algorithm)
  std::string expect_kms_key;      // every 200 names this KMS key (x-amz-...-aws-kms-key-id)
  bool expect_bucket_key = false;  // every 200 says x-amz-...-bucket-key-enabled: true
};

LoadOptions Defaults() {
  LoadOptions d;
  d.connections = 32;
  d.timeout_s = 60;
  return d;
}

void Usage() {
  std::cerr
      << "usage: s3_load --port PORT --bucket B --op put|get [options]\n"
         "       s3_load --op fill-dir --dir DIR --bucket B [--size N --objects N --prefix P]\n"
         "  --op OP                put | get | fill-dir (default get)\n"
         "  --bucket B             bucket (path-style: /B/key)\n"
         "  --prefix P             key prefix (default obj/); keys are P%08d\n"
         "  --size BYTES           object size (default 4096)\n"
         "  --objects N            distinct keys, used round-robin (default 1000)\n"
         "  --first N              number of the first request (its key is N mod objects)\n"
         "  --unsigned-payload     PUT: x-amz-content-sha256: UNSIGNED-PAYLOAD (stream, no hash)\n"
         "  --verify               GET: compare every body byte with the generated object\n"
         "  --no-preflight         skip the single checked request before the run\n"
         "  --sse ALG              PUT: x-amz-server-side-encryption: ALG (AES256, aws:kms, ...)\n"
         "  --sse-kms-key-id ID    PUT: x-amz-server-side-encryption-aws-kms-key-id: ID\n"
         "  --sse-bucket-key B     PUT: x-amz-server-side-encryption-bucket-key-enabled: B\n"
         "  --sse-c-key BASE64     PUT and GET: SSE-C with this 32-byte key (algorithm AES256;\n"
         "                         the key MD5 is computed)\n"
         "  --expect-sse ALG       every successful response carries\n"
         "                         x-amz-server-side-encryption: ALG (ALG = SSE-C: the\n"
         "                         customer-algorithm header, AES256)\n"
         "  --expect-kms-key-id ID every successful response carries\n"
         "                         x-amz-server-side-encryption-aws-kms-key-id: ID\n"
         "  --expect-bucket-key    every successful response carries\n"
         "                         x-amz-server-side-encryption-bucket-key-enabled: true\n"
         "  --dir DIR              fill-dir: write the objects as DIR/<bucket>/<key>\n"
         "  (--port and the credentials are not needed for fill-dir)\n"
      << LoadOptionsUsage(Defaults());
}

std::optional<Options> ParseArgs(int argc, char** argv) {
  Options o;
  o.load = Defaults();
  auto tool_option = [&o](std::string_view name, const std::string& value) {
    if (name == "--unsigned-payload")
      o.unsigned_payload = true;
    else if (name == "--verify")
      o.verify = true;
    else if (name == "--no-preflight")
      o.preflight = false;
    else if (name == "--expect-bucket-key")
      o.expect_bucket_key = true;
    else if (name == "--op")
      o.op = value;
    else if (name == "--bucket")
      o.bucket = value;
    else if (name == "--prefix")
      o.prefix = value;
    else if (name == "--size")
      o.size = std::stoull(value);
    else if (name == "--objects")
      o.objects = std::stoull(value);
    else if (name == "--first")
      o.first_request = std::stoull(value);
    else if (name == "--dir")
      o.dir = value;
    else if (name == "--sse")
      o.sse = value;
    else if (name == "--sse-kms-key-id")
      o.sse_kms_key_id = value;
    else if (name == "--sse-bucket-key")
      o.sse_bucket_key = value;
    else if (name == "--sse-c-key")
      o.sse_c_key = value;
    else if (name == "--expect-sse")
      o.expect_sse = value;
    else if (name == "--expect-kms-key-id")
      o.expect_kms_key = value;
    else
      return false;
    return true;
  };
  if (!ParseCommandLine(argc, argv, "s3_load",
                        {"--unsigned-payload", "--verify", "--no-preflight", "--expect-bucket-key"},
                        o.load, tool_option)) {
    return std::nullopt;
  }
  if (o.op != "put" && o.op != "get" && o.op != "fill-dir") {
    std::cerr << "s3_load: --op must be put, get or fill-dir\n";
    return std::nullopt;
  }
  if (o.bucket.empty() || o.objects == 0) {
    std::cerr << "s3_load: --bucket is required and --objects must be positive\n";
    return std::nullopt;
  }
  if (o.op == "fill-dir") {
    if (o.dir.empty()) {
      std::cerr << "s3_load: fill-dir needs --dir\n";
      return std::nullopt;
    }
    return o;
  }
  if (!LoadOptionsValid(o.load)) {
    std::cerr << "s3_load: --port and credentials are required; counts must be positive\n";
    return std::nullopt;
  }
  if (!o.sse_c_key.empty()) {
    auto key = crypto::Base64Decode(o.sse_c_key);
    if (!key || key->size() != 32) {
      std::cerr << "s3_load: --sse-c-key must be the base64 of 32 bytes\n";
      return std::nullopt;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Signed headers

// What every S3 request signs (host, x-amz-content-sha256, x-amz-date) plus the server-side
// encryption headers of this run. Built once per run and method.
SignedHeaders S3Headers(const Options& o, bool put) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (put && !o.sse.empty()) fields.emplace_back("x-amz-server-side-encryption", o.sse);
  if (put && !o.sse_kms_key_id.empty()) {
    fields.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", o.sse_kms_key_id);
  }
  if (put && !o.sse_bucket_key.empty()) {
    fields.emplace_back("x-amz-server-side-encryption-bucket-key-enabled", o.sse_bucket_key);
  }
  if (!o.sse_c_key.empty()) {
    auto key = crypto::Base64Decode(o.sse_c_key);  // checked by ParseArgs
    fields.emplace_back("x-amz-server-side-encryption-customer-algorithm", "AES256");
    fields.emplace_back("x-amz-server-side-encryption-customer-key", o.sse_c_key);
    fields.emplace_back("x-amz-server-side-encryption-customer-key-md5",
                        crypto::Base64Encode(crypto::Md5(*key)));
  }
  return SignedHeaders(std::move(fields), /*content_sha256=*/true);
}

SigV4Signer NewSigner(const LoadOptions& o) {
  return SigV4Signer(o.access_key_id, o.secret_access_key, o.region, "s3", o.HostHeader());
}

// ---------------------------------------------------------------------------------------------
// Object contents

// The cyclic pattern, stored twice in a row so that any slice of up to 1 MiB starting anywhere in
// the first copy is contiguous. Immutable after construction; shared by all threads.
class Pattern {
 public:
  Pattern() : bytes_(2 * kPatternSize) {
    uint64_t x = 0x9E3779B97F4A7C15ull;  // xorshift64*: fast, deterministic, incompressible enough
    for (size_t i = 0; i < kPatternSize; i += 8) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      uint64_t v = x * 0x2545F4914F6CDD1Dull;
      std::memcpy(bytes_.data() + i, &v, 8);
    }
    std::memcpy(bytes_.data() + kPatternSize, bytes_.data(), kPatternSize);
  }

  // Bytes [offset, offset + length) of object `index`; length <= kMaxChunk.
  std::string_view Slice(uint64_t index, uint64_t offset, size_t length) const {
    size_t start = static_cast<size_t>((index * kKeyStride + offset) % kPatternSize);
    return std::string_view(bytes_.data() + start, std::min(length, kMaxChunk));
  }

  // Bytes [offset, size) of object `index`, at most kMaxChunk of them.
  std::string_view Rest(uint64_t index, uint64_t offset, uint64_t size) const {
    return Slice(index, offset, static_cast<size_t>(std::min<uint64_t>(kMaxChunk, size - offset)));
  }

 private:
  std::vector<char> bytes_;
};

std::string KeyOf(const Options& o, uint64_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%08" PRIu64, index);
  return o.prefix + digits;
}

// x-amz-content-sha256 of object `index`: hashed slice by slice, as the body is never whole.
std::string PayloadHash(const Options& o, const Pattern& pattern, uint64_t index) {
  if (o.unsigned_payload) return std::string(auth::kUnsignedPayload);
  if (o.size <= kMaxChunk) return std::string(HexSha256(pattern.Slice(index, 0, o.size)).view());
  crypto::Digest sha(crypto::DigestAlgorithm::kSha256);
  for (uint64_t off = 0; off < o.size; off += kMaxChunk)
    sha.Update(pattern.Rest(index, off, o.size));
  return HexEncode(sha.Finish());
}

// ---------------------------------------------------------------------------------------------
// The workload

// One connection's PUTs or GETs. Request n goes to object (--first + n) mod --objects.
class S3Exchange : public Exchange {
 public:
  S3Exchange(const Options& o, const Pattern& pattern, const SignedHeaders& headers)
      : o_(o), pattern_(pattern), headers_(headers), signer_(NewSigner(o.load)) {}

  uint64_t Begin(uint64_t number, std::string& out) override {
    index_ = (o_.first_request + number) % o_.objects;
    verified_ = 0;
    mismatch_ = false;
    const std::string path = "/" + o_.bucket + "/" + KeyOf(o_, index_);
    if (o_.op != "put") {
      signer_.BuildHead("GET", path, auth::kEmptyPayloadHash, std::nullopt, headers_, out);
      return 0;
    }
    signer_.BuildHead("PUT", path, PayloadHash(o_, pattern_, index_), o_.size, headers_, out);
    if (o_.size > kMaxBodyWithHead) return o_.size;  // streamed from the pattern, no copy
    out.append(pattern_.Slice(index_, 0, o_.size));
    return 0;
  }

  std::string_view BodyChunk(uint64_t offset) override {
    return pattern_.Rest(index_, offset, o_.size);
  }

  // GET --verify: compares the body with the generated object, slice by slice.
  void OnBody(std::string_view bytes) override {
    if (!o_.verify || o_.op == "put" || mismatch_) return;
    while (!bytes.empty()) {
      if (verified_ >= o_.size) {
        mismatch_ = true;
        return;
      }
      size_t take =
          static_cast<size_t>(std::min<uint64_t>({bytes.size(), kMaxChunk, o_.size - verified_}));
      std::string_view want = pattern_.Slice(index_, verified_, take);
      if (std::memcmp(want.data(), bytes.data(), take) != 0) {
        mismatch_ = true;
        return;
      }
      verified_ += take;
      bytes.remove_prefix(take);
    }
  }

  std::string Check(const ResponseParser& r) override {
    if (o_.op == "put") {
      if (!r.Header("etag")) return "PUT answered without an ETag";
    } else if (r.body_bytes() != o_.size) {
      return "GET returned " + std::to_string(r.body_bytes()) + " bytes, expected " +
             std::to_string(o_.size);
    } else if (o_.verify && (mismatch_ || verified_ != o_.size)) {
      return "GET body differs from the object that was written";
    }
    return CheckEncryption(r);
  }

  uint64_t PayloadBytes() const override { return o_.size; }
  std::string Describe() const override { return KeyOf(o_, index_); }

 private:
  // --expect-sse, --expect-kms-key-id, --expect-bucket-key: the answer must say so.
  std::string CheckEncryption(const ResponseParser& r) const {
    auto expect = [&r](std::string_view header, std::string_view want) -> std::string {
      std::string_view got = r.Header(header).value_or("");
      if (got == want) return {};
      return std::string(header) + " is '" + std::string(got) + "', expected '" +
             std::string(want) + "'";
    };
    std::string problem;
    if (o_.expect_sse == "SSE-C") {
      problem = expect("x-amz-server-side-encryption-customer-algorithm", "AES256");
    } else if (!o_.expect_sse.empty()) {
      problem = expect("x-amz-server-side-encryption", o_.expect_sse);
    }
    if (problem.empty() && !o_.expect_kms_key.empty()) {
      problem = expect("x-amz-server-side-encryption-aws-kms-key-id", o_.expect_kms_key);
    }
    if (problem.empty() && o_.expect_bucket_key) {
      problem = expect("x-amz-server-side-encryption-bucket-key-enabled", "true");
    }
    return problem;
  }

  const Options& o_;
  const Pattern& pattern_;
  const SignedHeaders& headers_;
  SigV4Signer signer_;     // one per connection: a signer is not thread-safe
  uint64_t index_ = 0;     // object of the request in flight
  uint64_t verified_ = 0;  // GET: body bytes checked so far
  bool mismatch_ = false;  // GET --verify: a byte differed
};

class S3Workload : public Workload {
 public:
  S3Workload(const Options& o, const Pattern& pattern)
      : o_(o), pattern_(pattern), headers_(S3Headers(o, /*put=*/o.op == "put")) {}

  std::unique_ptr<Exchange> NewExchange() const override {
    return std::make_unique<S3Exchange>(o_, pattern_, headers_);
  }
  // A GET's body arrives in reads as large as its buffer: fewer system calls for large objects.
  size_t ReadBufferSize() const override {
    if (o_.op != "get") return 64 * 1024;
    return std::clamp<size_t>(o_.size + 16 * 1024, 64 * 1024, 1024 * 1024);
  }

 private:
  const Options& o_;
  const Pattern& pattern_;
  const SignedHeaders headers_;
};

// Cross-checks the signer against the server's own SigV4 code (src/auth; S3 flavour: the path is
// not normalised), on a PUT with every header this run may send.
bool SelfCheckSigner(const Options& o) {
  SigV4Signer signer = NewSigner(o.load);
  std::string head;
  const std::string payload_hash = crypto::Sha256Hex("self-check");
  signer.BuildHead("PUT", "/" + o.bucket + "/" + KeyOf(o, 0), payload_hash, 10,
                   S3Headers(o, /*put=*/true), head);
  return MatchesServerSigV4(head, payload_hash, o.load.secret_access_key,
                            /*normalize_path=*/false);
}

// Preflight: one request, content verified for GET, so that wrong credentials, a missing bucket
// or wrong bytes fail fast with the server's message. False after saying why.
bool Preflight(const Options& o, const Pattern& pattern) {
  Options one = o;
  one.load.requests = 1;
  one.load.connections = 1;
  one.load.threads = 1;
  one.load.server_pid = 0;
  one.verify = o.op == "get";
  std::string error;
  auto r = RunClosedLoop(one.load, S3Workload(one, pattern), error);
  if (r && r->stats.errors == 0 && r->stats.measured == 1) return true;
  std::cerr << "s3_load: preflight " << o.op << " " << KeyOf(o, o.first_request % o.objects)
            << " failed: " << (r ? r->stats.first_error : error) << "\n";
  return false;
}

// ---------------------------------------------------------------------------------------------
// fill-dir: the same objects as files, for a static web server.

int FillDir(const Options& o, const Pattern& pattern) {
  for (uint64_t i = 0; i < o.objects; ++i) {
    std::string path = o.dir + "/" + o.bucket + "/" + KeyOf(o, i);
    // mkdir -p of the parent.
    for (size_t slash = o.dir.size() + 1; (slash = path.find('/', slash)) != std::string::npos;
         ++slash) {
      std::string parent = path.substr(0, slash);
      if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
        std::cerr << "s3_load: cannot create " << parent << ": " << std::strerror(errno) << "\n";
        return 2;
      }
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (uint64_t off = 0; off < o.size && out; off += kMaxChunk) {
      std::string_view chunk = pattern.Rest(i, off, o.size);
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    out.close();
    if (!out) {
      std::cerr << "s3_load: cannot write " << path << "\n";
      return 2;
    }
  }
  return 0;
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
  const Pattern pattern;
  if (o.op == "fill-dir") return FillDir(o, pattern);
  if (!SelfCheckSigner(o)) {
    std::cerr << "s3_load: the request signer disagrees with auth::CanonicalRequest\n";
    return 2;
  }

  if (o.preflight && !Preflight(o, pattern)) return 2;
  const uint64_t preflight_requests = o.preflight ? 1 : 0;

  auto mb_per_s = [](const RunResult& run) {
    return run.seconds > 0 ? static_cast<double>(run.stats.measured_bytes) / 1e6 / run.seconds : 0;
  };
  char what[48];
  std::snprintf(what, sizeof what, "%-3s %10" PRIu64 " B", o.op.c_str(), o.size);
  ToolReport report{"s3_load", what,
                    [&](JsonObjectWriter& json, const RunResult& run) {
                      json.String("op", o.op);
                      json.Number("size", o.size);
                      json.Number("objects", o.objects);
                      json.Number("bytes", run.stats.measured_bytes);
                      FixedNumber(json, "mb_per_s", mb_per_s(run), 1);
                      json.Number("issued", run.issued);
                      json.Number("preflight", preflight_requests);
                    },
                    [&](const RunResult& run) {
                      char text[32];
                      std::snprintf(text, sizeof text, " %.1f MB/s", mb_per_s(run));
                      return std::string(text);
                    }};
  return RunAndReport(o.load, S3Workload(o, pattern), report);
}

}  // namespace
}  // namespace hangar::bench

int main(int argc, char** argv) { return hangar::bench::Main(argc, argv); }
