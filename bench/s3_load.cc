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
// The generator shares the machine with the server it measures, so it is built to be cheap: one
// single-threaded Asio event loop by default, callback handlers, per-connection buffers reused
// across requests, an incremental HTTP/1.1 response parser that discards large bodies as they
// stream in, and one watchdog timer rather than one per request.
//
// Output: one JSON line on stdout (for the driver), a human-readable line on stderr.
// Exit status: 0 when every request succeeded, 1 when any failed, 2 on usage or setup errors.

#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/hmac.h"

namespace hangar::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kBaseSignedHeaders = "host;x-amz-content-sha256;x-amz-date";
constexpr size_t kPatternSize = 1 << 20;   // the cyclic pattern objects are cut from
constexpr size_t kMaxChunk = kPatternSize;  // largest slice handed out at once
constexpr uint64_t kKeyStride = 4099;       // object k starts at pattern offset k * stride
constexpr size_t kMaxHeader = 64 * 1024;
constexpr size_t kKeptErrorBody = 512;

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string op = "get";  // put | get | fill-dir
  std::string bucket;
  std::string prefix = "obj/";
  uint64_t size = 4096;
  uint64_t objects = 1000;
  uint64_t first_request = 0;  // request numbering starts here (keys follow it)
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::string label;
  std::string dir;  // fill-dir target
  int connections = 32;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  uint64_t requests = 0;  // > 0: a fixed number of measured requests instead of a duration
  double timeout_s = 60;
  bool unsigned_payload = false;
  bool verify = false;
  bool preflight = true;
  // Server-side encryption headers; empty = not sent.
  std::string sse;              // PUT: x-amz-server-side-encryption (AES256, aws:kms, ...)
  std::string sse_kms_key_id;   // PUT: x-amz-server-side-encryption-aws-kms-key-id
  std::string sse_bucket_key;   // PUT: x-amz-server-side-encryption-bucket-key-enabled
  std::string sse_c_key;        // PUT and GET: SSE-C key, base64 of 32 bytes
  std::string expect_sse;       // every 200 names this algorithm (SSE-C: the customer algorithm)
  std::string expect_kms_key;   // every 200 names this KMS key (x-amz-...-aws-kms-key-id)
  bool expect_bucket_key = false;  // every 200 says x-amz-...-bucket-key-enabled: true
};

void Usage() {
  std::cerr
      << "usage: s3_load --port PORT --bucket B --op put|get [options]\n"
         "       s3_load --op fill-dir --dir DIR --bucket B [--size N --objects N --prefix P]\n"
         "  --host HOST            server address (default 127.0.0.1)\n"
         "  --port PORT            server port (required except for fill-dir)\n"
         "  --op OP                put | get | fill-dir (default get)\n"
         "  --bucket B             bucket (path-style: /B/key)\n"
         "  --prefix P             key prefix (default obj/); keys are P%08d\n"
         "  --size BYTES           object size (default 4096)\n"
         "  --objects N            distinct keys, used round-robin (default 1000)\n"
         "  --first N              number of the first request (its key is N mod objects)\n"
         "  --access-key-id ID     default: $AWS_ACCESS_KEY_ID\n"
         "  --secret-access-key S  default: $AWS_SECRET_ACCESS_KEY\n"
         "  --region REGION        credential scope region (default us-east-1)\n"
         "  --connections N        concurrent keep-alive connections (default 32)\n"
         "  --threads T            event-loop threads sharing the connections (default 1)\n"
         "  --duration SECONDS     measured time (default 10)\n"
         "  --warmup SECONDS       unmeasured lead-in (default 1)\n"
         "  --requests N           measure N requests instead of a duration (no warm-up)\n"
         "  --timeout SECONDS      per-request timeout, counted as an error (default 60)\n"
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
         "  --label NAME           copied into the JSON result\n";
}

std::optional<Options> ParseArgs(int argc, char** argv) {
  Options o;
  if (const char* v = std::getenv("AWS_ACCESS_KEY_ID")) o.access_key_id = v;
  if (const char* v = std::getenv("AWS_SECRET_ACCESS_KEY")) o.secret_access_key = v;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "-h" || arg == "--help") return std::nullopt;
      if (arg == "--unsigned-payload") {
        o.unsigned_payload = true;
        continue;
      }
      if (arg == "--verify") {
        o.verify = true;
        continue;
      }
      if (arg == "--no-preflight") {
        o.preflight = false;
        continue;
      }
      if (arg == "--expect-bucket-key") {
        o.expect_bucket_key = true;
        continue;
      }
      if (i + 1 >= argc) {
        std::cerr << "s3_load: " << arg << " needs a value\n";
        return std::nullopt;
      }
      std::string value = argv[++i];
      if (arg == "--host") o.host = value;
      else if (arg == "--port") o.port = static_cast<uint16_t>(std::stoi(value));
      else if (arg == "--op") o.op = value;
      else if (arg == "--bucket") o.bucket = value;
      else if (arg == "--prefix") o.prefix = value;
      else if (arg == "--size") o.size = std::stoull(value);
      else if (arg == "--objects") o.objects = std::stoull(value);
      else if (arg == "--first") o.first_request = std::stoull(value);
      else if (arg == "--access-key-id") o.access_key_id = value;
      else if (arg == "--secret-access-key") o.secret_access_key = value;
      else if (arg == "--region") o.region = value;
      else if (arg == "--label") o.label = value;
      else if (arg == "--dir") o.dir = value;
      else if (arg == "--connections") o.connections = std::stoi(value);
      else if (arg == "--threads") o.threads = std::stoi(value);
      else if (arg == "--duration") o.duration_s = std::stod(value);
      else if (arg == "--warmup") o.warmup_s = std::stod(value);
      else if (arg == "--requests") o.requests = std::stoull(value);
      else if (arg == "--timeout") o.timeout_s = std::stod(value);
      else if (arg == "--sse") o.sse = value;
      else if (arg == "--sse-kms-key-id") o.sse_kms_key_id = value;
      else if (arg == "--sse-bucket-key") o.sse_bucket_key = value;
      else if (arg == "--sse-c-key") o.sse_c_key = value;
      else if (arg == "--expect-sse") o.expect_sse = value;
      else if (arg == "--expect-kms-key-id") o.expect_kms_key = value;
      else {
        std::cerr << "s3_load: unknown option " << arg << "\n";
        return std::nullopt;
      }
    }
  } catch (const std::exception&) {
    std::cerr << "s3_load: bad numeric value\n";
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
  if (o.port == 0 || o.access_key_id.empty() || o.secret_access_key.empty() ||
      o.connections < 1 || o.threads < 1 || o.threads > o.connections ||
      (o.requests == 0 && o.duration_s <= 0)) {
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
// Extra signed headers (server-side encryption)

// Headers sent, and signed, after the three every request carries. Built once per run and method.
struct ExtraHeaders {
  std::vector<std::pair<std::string, std::string>> fields;  // lower-case names, sorted
  std::string signed_headers;  // kBaseSignedHeaders plus ";name" for each field
};

ExtraHeaders SseHeaders(const Options& o, bool put) {
  ExtraHeaders h;
  if (put && !o.sse.empty()) h.fields.emplace_back("x-amz-server-side-encryption", o.sse);
  if (put && !o.sse_kms_key_id.empty()) {
    h.fields.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", o.sse_kms_key_id);
  }
  if (put && !o.sse_bucket_key.empty()) {
    h.fields.emplace_back("x-amz-server-side-encryption-bucket-key-enabled", o.sse_bucket_key);
  }
  if (!o.sse_c_key.empty()) {
    auto key = crypto::Base64Decode(o.sse_c_key);  // checked by ParseArgs
    h.fields.emplace_back("x-amz-server-side-encryption-customer-algorithm", "AES256");
    h.fields.emplace_back("x-amz-server-side-encryption-customer-key", o.sse_c_key);
    h.fields.emplace_back("x-amz-server-side-encryption-customer-key-md5",
                          crypto::Base64Encode(crypto::Md5(*key)));
  }
  // SigV4 lists signed headers sorted by name; all of these sort after x-amz-date.
  std::sort(h.fields.begin(), h.fields.end());
  h.signed_headers = std::string(kBaseSignedHeaders);
  for (const auto& [name, value] : h.fields) h.signed_headers.append(";").append(name);
  return h;
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

 private:
  std::vector<char> bytes_;
};

std::string KeyOf(const Options& o, uint64_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%08" PRIu64, index);
  return o.prefix + digits;
}

// ---------------------------------------------------------------------------------------------
// SigV4 signing

void HexInto(const crypto::Sha256Bytes& bytes, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

// Builds the head of signed S3 requests. One per event-loop thread: not thread-safe. Reuses its
// scratch buffers, so signing allocates nothing once they have grown.
class RequestSigner {
 public:
  RequestSigner(std::string access_key_id, std::string secret_access_key, std::string region,
                std::string host_header)
      : access_key_id_(std::move(access_key_id)),
        secret_(std::move(secret_access_key)),
        region_(std::move(region)),
        host_(std::move(host_header)) {
    canonical_.reserve(512);
    string_to_sign_.reserve(256);
  }

  // Writes the request line and headers (through the blank line) for `method` on `path` (already
  // URI-encoded; our keys need no encoding) into `out`. `payload_hash` is 64 hex digits or
  // UNSIGNED-PAYLOAD; `content_length` is sent for PUT; `extra` headers are sent and signed.
  void BuildHead(std::string_view method, std::string_view path, std::string_view payload_hash,
                 std::optional<uint64_t> content_length, const ExtraHeaders& extra,
                 std::string& out) {
    RefreshDate();
    // 1. Canonical request: method, URI, query, the signed headers, their names, payload hash.
    canonical_.clear();
    canonical_.append(method).append("\n").append(path).append("\n\n");
    canonical_.append("host:").append(host_);
    canonical_.append("\nx-amz-content-sha256:").append(payload_hash);
    canonical_.append("\nx-amz-date:").append(amz_date_, 16);
    for (const auto& [name, value] : extra.fields) {
      canonical_.append("\n").append(name).append(":").append(value);
    }
    canonical_.append("\n\n").append(extra.signed_headers).append("\n").append(payload_hash);
    // 2. String to sign: algorithm, request time, scope, hash of the canonical request.
    char canonical_hash[64];
    HexInto(crypto::Sha256(canonical_), canonical_hash);
    string_to_sign_.clear();
    string_to_sign_.append("AWS4-HMAC-SHA256\n").append(amz_date_, 16).append("\n");
    string_to_sign_.append(scope_).append("\n").append(canonical_hash, 64);
    // 3. Signature: HMAC of the string to sign under the day's signing key.
    char signature[64];
    HexInto(crypto::HmacSha256(signing_key_, string_to_sign_), signature);
    // 4. The head itself.
    out.clear();
    out.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_);
    out.append("\r\nx-amz-content-sha256: ").append(payload_hash);
    out.append("\r\nx-amz-date: ").append(amz_date_, 16);
    out.append("\r\nAuthorization: AWS4-HMAC-SHA256 Credential=").append(access_key_id_);
    out.append("/").append(scope_).append(", SignedHeaders=").append(extra.signed_headers);
    out.append(", Signature=").append(signature, 64);
    for (const auto& [name, value] : extra.fields) {
      out.append("\r\n").append(name).append(": ").append(value);
    }
    if (content_length) {
      char length[24];
      int n = std::snprintf(length, sizeof length, "%" PRIu64, *content_length);
      out.append("\r\nContent-Length: ").append(length, static_cast<size_t>(n));
    }
    out.append("\r\n\r\n");
  }

 private:
  // X-Amz-Date follows the wall clock to the second; the signing key changes with the date.
  void RefreshDate() {
    std::time_t now = std::time(nullptr);
    if (now == date_second_) return;
    date_second_ = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(amz_date_, sizeof amz_date_, "%Y%m%dT%H%M%SZ", &tm);
    std::string day(amz_date_, 8);
    if (day == day_) return;
    day_ = day;
    auth::SigV4Scope scope{access_key_id_, day_, region_, "s3"};
    scope_ = scope.ToString();
    signing_key_ = auth::DeriveSigningKey(secret_, scope);
  }

  const std::string access_key_id_;
  const std::string secret_;
  const std::string region_;
  const std::string host_;
  std::time_t date_second_ = -1;
  char amz_date_[32] = {};
  std::string day_;
  std::string scope_;  // <date>/<region>/s3/aws4_request
  crypto::Sha256Bytes signing_key_{};
  std::string canonical_;
  std::string string_to_sign_;
};

// Cross-checks RequestSigner against the server's own SigV4 code (src/auth): the head it builds is
// parsed back and re-signed with auth::CanonicalRequest / StringToSign / SignatureHex (S3 flavour:
// the path is not normalised).
bool SelfCheckSigner(const Options& o, RequestSigner& signer) {
  std::string head;
  const std::string path = "/" + o.bucket + "/" + KeyOf(o, 0);
  const std::string payload_hash = crypto::Sha256Hex("self-check");
  signer.BuildHead("PUT", path, payload_hash, 10, SseHeaders(o, /*put=*/true), head);
  HttpRequest req;
  req.method = "PUT";
  req.target = path;
  req.path = path;
  size_t header_end = head.find("\r\n\r\n");
  size_t pos = head.find("\r\n") + 2;
  while (pos < header_end) {
    size_t eol = head.find("\r\n", pos);
    std::string_view field(head.data() + pos, eol - pos);
    size_t colon = field.find(':');
    req.headers.Add(field.substr(0, colon), field.substr(colon + 2));
    pos = eol + 2;
  }
  auto sig = auth::ParseSigV4(req);
  if (!sig.ok() || !sig->has_value()) return false;
  std::string canonical =
      auth::CanonicalRequest(req, **sig, payload_hash, /*normalize_path=*/false);
  std::string expected = auth::SignatureHex(
      auth::DeriveSigningKey(o.secret_access_key, (*sig)->scope),
      auth::StringToSign(**sig, canonical));
  return expected == (*sig)->signature;
}

// ---------------------------------------------------------------------------------------------
// Incremental HTTP/1.1 response parsing: Content-Length, chunked, or delimited by the connection
// closing. The body is handed to a sink as it arrives and never accumulated (except the start of
// an error body, for the message).

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IContains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (IEquals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

class ResponseParser {
 public:
  enum class Result { kNeedMore, kComplete, kMalformed };

  void Reset(bool head_request) {
    state_ = State::kHeaders;
    head_request_ = head_request;
    status_ = 0;
    content_length_.reset();
    chunked_ = false;
    close_ = false;
    has_etag_ = false;
    sse_.clear();
    sse_customer_algorithm_.clear();
    sse_kms_key_id_.clear();
    bucket_key_enabled_.clear();
    remaining_ = 0;
    body_bytes_ = 0;
    error_body_.clear();
    chunk_line_.clear();
  }

  // Consumes bytes from `data` (advancing it) and passes body bytes to `sink(std::string_view)`.
  // Stops at the end of the response; bytes after it stay in `data`.
  template <typename Sink>
  Result Feed(std::string_view& data, Sink&& sink) {
    while (true) {
      switch (state_) {
        case State::kHeaders: {
          // The head must arrive whole in one buffer (the caller keeps unconsumed bytes).
          size_t end = data.find("\r\n\r\n");
          if (end == std::string_view::npos) {
            return data.size() > kMaxHeader ? Result::kMalformed : Result::kNeedMore;
          }
          if (!ParseHead(data.substr(0, end))) return Result::kMalformed;
          data.remove_prefix(end + 4);
          if (status_ == 100) {  // an interim answer: the real one follows
            Reset(head_request_);
            continue;
          }
          if (head_request_ || status_ == 204 || status_ == 304) {
            state_ = State::kDone;
          } else if (chunked_) {
            state_ = State::kChunkSize;
          } else if (content_length_) {
            remaining_ = *content_length_;
            state_ = remaining_ == 0 ? State::kDone : State::kBody;
          } else {
            close_ = true;
            state_ = State::kUntilClose;
          }
          continue;
        }
        case State::kBody: {
          if (data.empty()) return Result::kNeedMore;
          size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
          Deliver(data.substr(0, n), sink);
          data.remove_prefix(n);
          remaining_ -= n;
          if (remaining_ == 0) state_ = State::kDone;
          continue;
        }
        case State::kUntilClose: {
          if (!data.empty()) Deliver(data, sink);
          data.remove_prefix(data.size());
          return Result::kNeedMore;  // Finish() ends it at EOF
        }
        case State::kChunkSize:
        case State::kTrailers: {
          size_t eol = data.find("\r\n");
          if (eol == std::string_view::npos) {
            chunk_line_.append(data);
            data.remove_prefix(data.size());
            return chunk_line_.size() > 4096 ? Result::kMalformed : Result::kNeedMore;
          }
          chunk_line_.append(data.substr(0, eol));
          data.remove_prefix(eol + 2);
          std::string line = std::move(chunk_line_);
          chunk_line_.clear();
          if (state_ == State::kTrailers) {
            if (line.empty()) state_ = State::kDone;
            continue;
          }
          uint64_t size = 0;
          size_t i = 0;
          for (; i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i])); ++i) {
            char c = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i])));
            size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
            if (size > (1ull << 40)) return Result::kMalformed;
          }
          if (i == 0) return Result::kMalformed;
          if (size == 0) {
            state_ = State::kTrailers;
          } else {
            remaining_ = size;
            state_ = State::kChunkData;
          }
          continue;
        }
        case State::kChunkData: {
          if (data.empty()) return Result::kNeedMore;
          size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
          Deliver(data.substr(0, n), sink);
          data.remove_prefix(n);
          remaining_ -= n;
          if (remaining_ == 0) state_ = State::kChunkCrlf;
          continue;
        }
        case State::kChunkCrlf: {
          if (data.size() < 2) return Result::kNeedMore;
          if (data.substr(0, 2) != "\r\n") return Result::kMalformed;
          data.remove_prefix(2);
          state_ = State::kChunkSize;
          continue;
        }
        case State::kDone:
          return Result::kComplete;
      }
    }
  }

  // The connection ended: completes a response delimited by the close, else it is malformed.
  Result Finish() {
    if (state_ == State::kUntilClose || state_ == State::kDone) {
      state_ = State::kDone;
      return Result::kComplete;
    }
    return Result::kMalformed;
  }

  int status() const { return status_; }
  bool close() const { return close_; }
  bool has_etag() const { return has_etag_; }
  const std::string& sse() const { return sse_; }
  const std::string& sse_customer_algorithm() const { return sse_customer_algorithm_; }
  const std::string& sse_kms_key_id() const { return sse_kms_key_id_; }
  const std::string& bucket_key_enabled() const { return bucket_key_enabled_; }
  uint64_t body_bytes() const { return body_bytes_; }
  std::optional<uint64_t> content_length() const { return content_length_; }
  const std::string& error_body() const { return error_body_; }

 private:
  enum class State {
    kHeaders, kBody, kUntilClose, kChunkSize, kChunkData, kChunkCrlf, kTrailers, kDone
  };

  template <typename Sink>
  void Deliver(std::string_view bytes, Sink& sink) {
    body_bytes_ += bytes.size();
    if (status_ / 100 == 2) {
      sink(bytes);
    } else if (error_body_.size() < kKeptErrorBody) {
      error_body_.append(bytes.substr(0, kKeptErrorBody - error_body_.size()));
    }
  }

  bool ParseHead(std::string_view head) {
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
    status_ = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    if (status_ < 100) return false;
    bool http10 = status_line.substr(5, 3) == "1.0";
    bool keep_alive = false;
    size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      if (eol == std::string_view::npos) eol = head.size();
      std::string_view field = head.substr(pos, eol - pos);
      pos = eol + 2;
      size_t colon = field.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = field.substr(0, colon);
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      if (IEquals(name, "content-length")) {
        content_length_ = std::strtoull(std::string(value).c_str(), nullptr, 10);
      } else if (IEquals(name, "transfer-encoding")) {
        chunked_ = IContains(value, "chunked");
      } else if (IEquals(name, "connection")) {
        if (IContains(value, "close")) close_ = true;
        if (IContains(value, "keep-alive")) keep_alive = true;
      } else if (IEquals(name, "etag")) {
        has_etag_ = true;
      } else if (IEquals(name, "x-amz-server-side-encryption")) {
        sse_.assign(value);
      } else if (IEquals(name, "x-amz-server-side-encryption-customer-algorithm")) {
        sse_customer_algorithm_.assign(value);
      } else if (IEquals(name, "x-amz-server-side-encryption-aws-kms-key-id")) {
        sse_kms_key_id_.assign(value);
      } else if (IEquals(name, "x-amz-server-side-encryption-bucket-key-enabled")) {
        bucket_key_enabled_.assign(value);
      }
    }
    if (http10 && !keep_alive) close_ = true;
    return true;
  }

  State state_ = State::kHeaders;
  bool head_request_ = false;
  int status_ = 0;
  std::optional<uint64_t> content_length_;
  bool chunked_ = false;
  bool close_ = false;
  bool has_etag_ = false;
  std::string sse_;                     // x-amz-server-side-encryption of the response
  std::string sse_customer_algorithm_;  // x-amz-server-side-encryption-customer-algorithm
  std::string sse_kms_key_id_;          // x-amz-server-side-encryption-aws-kms-key-id
  std::string bucket_key_enabled_;      // x-amz-server-side-encryption-bucket-key-enabled
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  std::string error_body_;
  std::string chunk_line_;
};

// ---------------------------------------------------------------------------------------------
// The load loop

// Shared by all event-loop threads.
struct RunControl {
  SteadyClock::time_point measure_start;
  SteadyClock::time_point measure_end;  // duration mode
  bool fixed_count = false;
  uint64_t total = 0;                   // fixed-count mode: requests to send
  std::atomic<uint64_t> next{0};        // next request number (relative to --first)
  SteadyClock::duration timeout;
};

// What one event-loop thread saw. Merged after the run.
struct Stats {
  uint64_t measured = 0;
  uint64_t measured_bytes = 0;  // payload bytes of measured requests (body sent or received)
  uint64_t errors = 0;
  uint64_t reconnects = 0;
  std::vector<uint32_t> latencies_us;  // of measured requests
  SteadyClock::time_point last_completion{};
  std::string first_error;
};

class Worker;

// One keep-alive connection with one request in flight. Owned by its Worker; runs on its thread.
// A request is finished when both its response has been read and its body has been written (the
// two complete in either order); a connection that failed stays closed.
class Connection {
 public:
  Connection(Worker& worker, asio::io_context& io, size_t read_buffer)
      : worker_(worker), socket_(io), in_(read_buffer) {
    head_.reserve(1024);
  }

  void Start() { Connect(); }
  bool busy() const { return in_flight_; }
  SteadyClock::time_point sent_at() const { return sent_at_; }
  void Abort() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  void Connect();
  void SendNext();
  void WriteBody();
  void OnWritten(error_code ec, size_t n);
  void ReadMore();
  void OnRead(error_code ec, size_t n);
  void OnResponse(bool eof);
  void Finish();
  void Fail(std::string what);

  Worker& worker_;
  tcp::socket socket_;
  std::string head_;
  std::vector<char> in_;
  size_t in_len_ = 0;  // unconsumed bytes at the start of in_ (an incomplete response head)
  ResponseParser parser_;
  bool failed_ = false;
  bool in_flight_ = false;
  bool writing_ = false;        // the request (head or body) is still being written
  bool response_done_ = false;  // its response has been read whole
  bool eof_ = false;            // the server closed after that response
  bool is_put_ = false;
  uint64_t index_ = 0;      // object of the request in flight
  uint64_t body_sent_ = 0;    // PUT: body bytes written so far
  uint64_t body_issued_ = 0;  // PUT: body bytes handed to a write (completed or not)
  uint64_t verified_ = 0;   // GET: body bytes checked so far
  bool mismatch_ = false;   // GET --verify: a byte differed
  SteadyClock::time_point sent_at_{};
  // Set when the server closed the connection after a response (moto_server may): the next
  // request's latency then starts when the reconnect did, as a client's would.
  std::optional<SteadyClock::time_point> reconnect_started_;
};

// One event loop, its share of the connections, its signer and its statistics.
class Worker {
 public:
  Worker(const Options& o, const Pattern& pattern, RunControl& control,
         const tcp::resolver::results_type& endpoints, int connections)
      : o_(o),
        pattern_(pattern),
        control_(control),
        endpoints_(endpoints),
        signer_(o.access_key_id, o.secret_access_key, o.region,
                o.host + ":" + std::to_string(o.port)),
        put_headers_(SseHeaders(o, /*put=*/true)),
        get_headers_(SseHeaders(o, /*put=*/false)),
        watchdog_(io_) {
    size_t read_buffer = o.op == "get" ? std::clamp<size_t>(o.size + 16 * 1024, 64 * 1024,
                                                            1024 * 1024)
                                       : 64 * 1024;
    for (int i = 0; i < connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(*this, io_, read_buffer));
    }
    if (!control.fixed_count) {
      double expected = (o.duration_s + 1) * 50000.0 / o.threads;
      stats_.latencies_us.reserve(static_cast<size_t>(std::min(expected, 4e6)));
    }
  }

  void Run() {
    for (auto& c : connections_) c->Start();
    ArmWatchdog();
    io_.run();
  }

  // Called by a connection before each request: the request number, or nullopt once the run is
  // over.
  std::optional<uint64_t> NextRequest() {
    if (control_.fixed_count) {
      uint64_t n = control_.next.fetch_add(1, std::memory_order_relaxed);
      if (n >= control_.total) return std::nullopt;
      return n;
    }
    if (SteadyClock::now() >= control_.measure_end) return std::nullopt;
    return control_.next.fetch_add(1, std::memory_order_relaxed);
  }

  void Record(SteadyClock::time_point sent, SteadyClock::time_point done, uint64_t bytes) {
    if (done < control_.measure_start) return;  // warm-up
    if (!control_.fixed_count && done >= control_.measure_end) return;
    ++stats_.measured;
    stats_.measured_bytes += bytes;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(done - sent).count();
    stats_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    stats_.last_completion = std::max(stats_.last_completion, done);
  }

  void Error(std::string what) {
    if (stats_.errors++ == 0) stats_.first_error = std::move(what);
  }
  void Reconnected() { ++stats_.reconnects; }
  void ConnectionDone() {
    if (++finished_ == connections_.size()) watchdog_.cancel();
  }

  const Options& options() const { return o_; }
  const Pattern& pattern() const { return pattern_; }
  RequestSigner& signer() { return signer_; }
  const ExtraHeaders& put_headers() const { return put_headers_; }
  const ExtraHeaders& get_headers() const { return get_headers_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  Stats& stats() { return stats_; }

 private:
  // Once a second: close connections whose request is older than the timeout (their read fails
  // and is counted as an error). Cheaper than a timer per request. Stops re-arming once every
  // connection is done: cancel() misses a wait whose completion is already queued.
  void ArmWatchdog() {
    watchdog_.expires_after(std::chrono::seconds(1));
    watchdog_.async_wait([this](error_code ec) {
      if (ec || finished_ == connections_.size()) return;
      auto now = SteadyClock::now();
      for (auto& c : connections_) {
        if (c->busy() && now - c->sent_at() > control_.timeout) c->Abort();
      }
      ArmWatchdog();
    });
  }

  const Options& o_;
  const Pattern& pattern_;
  RunControl& control_;
  const tcp::resolver::results_type& endpoints_;
  asio::io_context io_{1};
  RequestSigner signer_;
  const ExtraHeaders put_headers_;
  const ExtraHeaders get_headers_;
  asio::steady_timer watchdog_;
  std::vector<std::unique_ptr<Connection>> connections_;
  size_t finished_ = 0;
  Stats stats_;
};

void Connection::Connect() {
  asio::async_connect(socket_, worker_.endpoints(), [this](error_code ec, const tcp::endpoint&) {
    if (ec) {
      Fail("connect: " + ec.message());
      return;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    in_len_ = 0;
    SendNext();
  });
}

void Connection::SendNext() {
  auto request = worker_.NextRequest();
  if (!request) {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    worker_.ConnectionDone();
    return;
  }
  const Options& o = worker_.options();
  index_ = (o.first_request + *request) % o.objects;
  is_put_ = o.op == "put";
  body_sent_ = 0;
  body_issued_ = 0;
  verified_ = 0;
  mismatch_ = false;
  response_done_ = false;
  eof_ = false;
  parser_.Reset(false);
  const std::string path = "/" + o.bucket + "/" + KeyOf(o, index_);
  if (is_put_) {
    std::string payload_hash;
    if (o.unsigned_payload) {
      payload_hash = auth::kUnsignedPayload;
    } else if (o.size <= kMaxChunk) {
      payload_hash = crypto::Sha256Hex(worker_.pattern().Slice(index_, 0, o.size));
    } else {
      crypto::Digest sha(crypto::DigestAlgorithm::kSha256);
      for (uint64_t off = 0; off < o.size; off += kMaxChunk) {
        sha.Update(worker_.pattern().Slice(index_, off,
                                           std::min<uint64_t>(kMaxChunk, o.size - off)));
      }
      payload_hash = HexEncode(sha.Finish());
    }
    worker_.signer().BuildHead("PUT", path, payload_hash, o.size, worker_.put_headers(), head_);
    // Small bodies go out with the head in one write.
    if (o.size <= 64 * 1024) {
      head_.append(worker_.pattern().Slice(index_, 0, o.size));
      body_sent_ = o.size;
      body_issued_ = o.size;
    }
  } else {
    worker_.signer().BuildHead("GET", path, auth::kEmptyPayloadHash, std::nullopt,
                               worker_.get_headers(), head_);
  }
  in_flight_ = true;
  writing_ = true;
  sent_at_ = reconnect_started_.value_or(SteadyClock::now());
  reconnect_started_.reset();
  asio::async_write(socket_, asio::buffer(head_),
                    [this](error_code ec, size_t) { OnWritten(ec, 0); });
  // Read while the body streams: a server may answer early (an error) and stop reading.
  ReadMore();
}

void Connection::WriteBody() {
  const Options& o = worker_.options();
  size_t n = static_cast<size_t>(std::min<uint64_t>(kMaxChunk, o.size - body_sent_));
  std::string_view chunk = worker_.pattern().Slice(index_, body_sent_, n);
  body_issued_ = body_sent_ + n;
  asio::async_write(socket_, asio::buffer(chunk.data(), chunk.size()),
                    [this](error_code ec, size_t written) { OnWritten(ec, written); });
}

void Connection::OnWritten(error_code ec, size_t body_bytes) {
  if (failed_) return;
  if (ec) {
    Fail("write: " + ec.message());
    return;
  }
  body_sent_ += body_bytes;
  if (is_put_ && body_sent_ < worker_.options().size && !response_done_) {
    WriteBody();
    return;
  }
  writing_ = false;
  if (response_done_) Finish();
}

void Connection::ReadMore() {
  socket_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                          [this](error_code ec, size_t n) { OnRead(ec, n); });
}

void Connection::OnRead(error_code ec, size_t n) {
  if (failed_) return;
  const bool eof = ec == asio::error::eof;
  if (ec && !eof) {
    Fail("read: " + ec.message());
    return;
  }
  in_len_ += n;
  std::string_view data(in_.data(), in_len_);
  const Options& o = worker_.options();
  auto sink = [&](std::string_view bytes) {
    if (!o.verify || is_put_ || mismatch_) return;
    // Compare with the generated object, slice by slice.
    while (!bytes.empty()) {
      if (verified_ >= o.size) {
        mismatch_ = true;
        return;
      }
      size_t take = static_cast<size_t>(
          std::min<uint64_t>({bytes.size(), kMaxChunk, o.size - verified_}));
      std::string_view want = worker_.pattern().Slice(index_, verified_, take);
      if (std::memcmp(want.data(), bytes.data(), take) != 0) {
        mismatch_ = true;
        return;
      }
      verified_ += take;
      bytes.remove_prefix(take);
    }
  };
  ResponseParser::Result r = parser_.Feed(data, sink);
  if (r == ResponseParser::Result::kNeedMore && eof) r = parser_.Finish();
  if (r == ResponseParser::Result::kMalformed) {
    Fail("malformed response");
    return;
  }
  if (r == ResponseParser::Result::kNeedMore) {
    // Keep what the parser did not consume (part of a head) at the start of the buffer.
    if (!data.empty() && data.data() != in_.data()) {
      std::memmove(in_.data(), data.data(), data.size());
    }
    in_len_ = data.size();
    if (in_len_ == in_.size()) {
      Fail("response head too large");
      return;
    }
    ReadMore();
    return;
  }
  if (!data.empty()) {
    // One request in flight: nothing may follow the response.
    Fail("unexpected bytes after the response");
    return;
  }
  in_len_ = 0;
  OnResponse(eof);
}

void Connection::OnResponse(bool eof) {
  response_done_ = true;
  eof_ = eof;
  if (writing_) {
    if (parser_.status() != 200 || body_issued_ < worker_.options().size) {
      // Answered before it had the whole body: the stream is out of step with the request.
      Fail(KeyOf(worker_.options(), index_) + ": HTTP " + std::to_string(parser_.status()) +
           " before the whole body was sent: " + parser_.error_body());
    }
    return;  // the write handler finishes the request
  }
  Finish();
}

void Connection::Finish() {
  auto done = SteadyClock::now();
  in_flight_ = false;
  const Options& o = worker_.options();
  std::string problem;
  if (parser_.status() != 200) {
    problem = "HTTP " + std::to_string(parser_.status()) + ": " + parser_.error_body();
  } else if (is_put_) {
    if (!parser_.has_etag()) problem = "PUT answered without an ETag";
  } else if (parser_.body_bytes() != o.size) {
    problem = "GET returned " + std::to_string(parser_.body_bytes()) + " bytes, expected " +
              std::to_string(o.size);
  } else if (o.verify && (mismatch_ || verified_ != o.size)) {
    problem = "GET body differs from the object that was written";
  }
  if (problem.empty() && !o.expect_sse.empty()) {
    const bool ssec = o.expect_sse == "SSE-C";
    const std::string& got = ssec ? parser_.sse_customer_algorithm() : parser_.sse();
    const std::string want = ssec ? "AES256" : o.expect_sse;
    if (got != want) {
      problem = std::string(ssec ? "x-amz-server-side-encryption-customer-algorithm"
                                 : "x-amz-server-side-encryption") +
                " is '" + got + "', expected '" + want + "'";
    }
  }
  if (problem.empty() && !o.expect_kms_key.empty() &&
      parser_.sse_kms_key_id() != o.expect_kms_key) {
    problem = "x-amz-server-side-encryption-aws-kms-key-id is '" + parser_.sse_kms_key_id() +
              "', expected '" + o.expect_kms_key + "'";
  }
  if (problem.empty() && o.expect_bucket_key && parser_.bucket_key_enabled() != "true") {
    problem = "x-amz-server-side-encryption-bucket-key-enabled is '" +
              parser_.bucket_key_enabled() + "', expected 'true'";
  }
  if (problem.empty()) {
    worker_.Record(sent_at_, done, o.size);
  } else {
    worker_.Error(KeyOf(o, index_) + ": " + problem);
  }
  if (parser_.close() || eof_) {
    // The server ended keep-alive: open a new connection and carry on (SendNext decides whether
    // the run still wants requests).
    error_code ignored;
    socket_.close(ignored);
    worker_.Reconnected();
    reconnect_started_ = SteadyClock::now();
    Connect();
    return;
  }
  SendNext();
}

void Connection::Fail(std::string what) {
  if (failed_) return;
  failed_ = true;
  in_flight_ = false;
  worker_.Error(std::move(what));
  error_code ignored;
  socket_.close(ignored);
  // A failed run is reported as such; don't hammer a broken server with reconnects.
  worker_.ConnectionDone();
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
      std::string_view chunk = pattern.Slice(i, off, std::min<uint64_t>(kMaxChunk, o.size - off));
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

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

double Percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;  // milliseconds
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Runs `requests` requests (or the duration) with the given connections; returns merged stats.
struct RunResult {
  Stats stats;
  uint64_t issued = 0;  // requests sent, warm-up and stragglers after the window included
  double seconds = 0;
  double wall = 0;
  double cpu = 0;
};

RunResult RunLoad(const Options& o, const Pattern& pattern,
                  const tcp::resolver::results_type& endpoints) {
  RunControl control;
  control.timeout = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(o.timeout_s));
  const auto run_start = SteadyClock::now();
  if (o.requests > 0) {
    control.fixed_count = true;
    control.total = o.requests;
    control.measure_start = run_start;
  } else {
    control.measure_start = run_start + std::chrono::duration_cast<SteadyClock::duration>(
                                            std::chrono::duration<double>(o.warmup_s));
    control.measure_end = control.measure_start + std::chrono::duration_cast<SteadyClock::duration>(
                                                      std::chrono::duration<double>(o.duration_s));
  }
  const double cpu_before = CpuSeconds();
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    int share = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(o, pattern, control, endpoints, share));
  }
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers.size(); ++t) threads.emplace_back([&, t] { workers[t]->Run(); });
  workers[0]->Run();
  for (auto& th : threads) th.join();
  RunResult out;
  out.wall = std::chrono::duration<double>(SteadyClock::now() - run_start).count();
  out.cpu = CpuSeconds() - cpu_before;
  Stats& total = out.stats;
  for (auto& w : workers) {
    Stats& s = w->stats();
    total.measured += s.measured;
    total.measured_bytes += s.measured_bytes;
    total.errors += s.errors;
    total.reconnects += s.reconnects;
    total.last_completion = std::max(total.last_completion, s.last_completion);
    if (total.first_error.empty()) total.first_error = s.first_error;
    total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(),
                              s.latencies_us.end());
  }
  const uint64_t next = control.next.load();
  out.issued = control.fixed_count ? std::min(next, control.total) : next;
  out.seconds = control.fixed_count
                    ? std::chrono::duration<double>(total.last_completion - run_start).count()
                    : o.duration_s;
  return out;
}

int Main(int argc, char** argv) {
  auto parsed = ParseArgs(argc, argv);
  if (!parsed) {
    Usage();
    return 2;
  }
  const Options o = *parsed;
  const Pattern pattern;
  if (o.op == "fill-dir") return FillDir(o, pattern);

  RequestSigner setup_signer(o.access_key_id, o.secret_access_key, o.region,
                             o.host + ":" + std::to_string(o.port));
  if (!SelfCheckSigner(o, setup_signer)) {
    std::cerr << "s3_load: the request signer disagrees with auth::CanonicalRequest\n";
    return 2;
  }
  tcp::resolver::results_type endpoints;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    endpoints = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec) {
      std::cerr << "s3_load: cannot resolve " << o.host << ": " << ec.message() << "\n";
      return 2;
    }
  }

  // Preflight: one request, content verified for GET, so that wrong credentials, a missing
  // bucket or wrong bytes fail fast with the server's message.
  uint64_t preflight_requests = 0;
  if (o.preflight) {
    preflight_requests = 1;
    Options one = o;
    one.requests = 1;
    one.connections = 1;
    one.threads = 1;
    one.verify = o.op == "get";
    RunResult r = RunLoad(one, pattern, endpoints);
    if (r.stats.errors > 0 || r.stats.measured != 1) {
      std::cerr << "s3_load: preflight " << o.op << " " << KeyOf(o, o.first_request % o.objects)
                << " failed: " << r.stats.first_error << "\n";
      return 2;
    }
  }

  RunResult run = RunLoad(o, pattern, endpoints);
  Stats& total = run.stats;
  double rate = run.seconds > 0 ? static_cast<double>(total.measured) / run.seconds : 0;
  double mb_per_s = run.seconds > 0 ? static_cast<double>(total.measured_bytes) / 1e6 / run.seconds
                                    : 0;
  double mean = 0;
  for (uint32_t v : total.latencies_us) mean += v;
  if (!total.latencies_us.empty()) mean /= 1000.0 * static_cast<double>(total.latencies_us.size());
  double p50 = Percentile(total.latencies_us, 0.50);
  double p90 = Percentile(total.latencies_us, 0.90);
  double p99 = Percentile(total.latencies_us, 0.99);
  double p999 = Percentile(total.latencies_us, 0.999);
  double max = Percentile(total.latencies_us, 1.0);

  char json[4096];
  std::snprintf(json, sizeof json,
                "{\"label\":%s,\"op\":\"%s\",\"size\":%" PRIu64 ",\"objects\":%" PRIu64
                ",\"connections\":%d,\"threads\":%d,\"seconds\":%.3f,\"requests\":%" PRIu64
                ",\"bytes\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"reconnects\":%" PRIu64
                ",\"rate\":%.1f,\"mb_per_s\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,"
                "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
                "\"client_cpu_s\":%.3f,\"wall_s\":%.3f,\"issued\":%" PRIu64
                ",\"preflight\":%" PRIu64 ",\"first_error\":%s}",
                JsonQuote(o.label).c_str(), o.op.c_str(), o.size, o.objects, o.connections,
                o.threads, run.seconds, total.measured, total.measured_bytes, total.errors,
                total.reconnects, rate, mb_per_s, mean, p50, p90, p99, p999, max, run.cpu,
                run.wall, run.issued, preflight_requests, JsonQuote(total.first_error).c_str());
  std::cout << json << std::endl;
  std::fprintf(stderr,
               "%-8s %-3s %10" PRIu64 " B conns=%d requests=%" PRIu64 " errors=%" PRIu64
               " rate=%.0f/s %.1f MB/s p50=%.2fms p99=%.2fms client_cpu=%.0f%%\n",
               o.label.empty() ? "-" : o.label.c_str(), o.op.c_str(), o.size, o.connections,
               total.measured, total.errors, rate, mb_per_s, p50, p99,
               run.wall > 0 ? 100.0 * run.cpu / run.wall : 0.0);
  if (total.errors > 0) {
    std::fprintf(stderr, "first error: %s\n", total.first_error.c_str());
    return 1;
  }
  return total.measured > 0 ? 0 : 1;
}

}  // namespace
}  // namespace hangar::bench

int main(int argc, char** argv) { return hangar::bench::Main(argc, argv); }
