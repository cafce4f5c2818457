// kms_load: a closed-loop load generator for the KMS JSON 1.1 protocol, used by kms_bench.py to
// compare Hangar with its peers (moto_server) on the same machine and workload.
//
// N keep-alive connections each keep exactly one request in flight (no pipelining): send a
// SigV4-signed `POST /` with `X-Amz-Target: TrentService.<Op>`, wait for the whole response, check
// it, send the next. Every request is signed afresh, as an SDK would: hex SHA-256 of the body,
// canonical request, string to sign, HMAC with the day's signing key ("Create a signed AWS API
// request", AWS IAM User Guide). Only the signing key is reused, for as long as the date lasts.
//
// The generator shares the machine with the server it measures, so it is built to be cheap: one
// single-threaded Asio event loop by default, callback handlers (no coroutine frames), request and
// response buffers reused per connection, a hand-rolled HTTP/1.1 response parser, and no timer per
// request (a once-a-second watchdog enforces the request timeout).
//
// Output: one JSON line on stdout per run (for the driver), a human-readable line on stderr.
// Exit status: 0 when every request got a well-formed 200 answer, 1 when any failed, 2 on usage
// or setup errors.

#include <sys/resource.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/sigv4.h"
#include "common/http_message.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/hmac.h"
#include "crypto/random.h"

namespace hangar::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kContentType = "application/x-amz-json-1.1";
constexpr std::string_view kSignedHeaders = "content-type;host;x-amz-date;x-amz-target";
constexpr size_t kMaxResponse = 1 << 20;  // a KMS response is a few hundred bytes

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string op = "GenerateDataKey";
  std::string algorithm;  // Sign / Verify: SigningAlgorithm; GenerateMac: MacAlgorithm
  std::string key_id;
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::string label;  // echoed in the JSON line ("hangar", "moto", ...)
  int connections = 64;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  uint64_t requests = 0;  // > 0: a fixed number of measured requests instead of a duration
  double timeout_s = 30;
};

void Usage() {
  std::cerr
      << "usage: kms_load --port PORT --key-id KEY [options]\n"
         "  --host HOST            server address (default 127.0.0.1)\n"
         "  --port PORT            server port (required)\n"
         "  --op OP                GenerateDataKey | Encrypt | Decrypt | Sign | Verify |\n"
         "                         GenerateMac (default GenerateDataKey)\n"
         "  --key-id KEY           key id, ARN or alias of a key that suits OP (required)\n"
         "  --algorithm ALG        SigningAlgorithm (Sign, Verify) or MacAlgorithm (GenerateMac)\n"
         "  --access-key-id ID     default: $AWS_ACCESS_KEY_ID\n"
         "  --secret-access-key S  default: $AWS_SECRET_ACCESS_KEY\n"
         "  --region REGION        credential scope region (default us-east-1)\n"
         "  --connections N        concurrent keep-alive connections (default 64)\n"
         "  --threads T            event-loop threads sharing the connections (default 1)\n"
         "  --duration SECONDS     measured time (default 10)\n"
         "  --warmup SECONDS       unmeasured lead-in (default 1)\n"
         "  --requests N           measure N requests instead of a duration (no warm-up)\n"
         "  --timeout SECONDS      per-request timeout, counted as an error (default 30)\n"
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
      if (i + 1 >= argc) {
        std::cerr << "kms_load: " << arg << " needs a value\n";
        return std::nullopt;
      }
      std::string value = argv[++i];
      if (arg == "--host") o.host = value;
      else if (arg == "--port") o.port = static_cast<uint16_t>(std::stoi(value));
      else if (arg == "--op") o.op = value;
      else if (arg == "--algorithm") o.algorithm = value;
      else if (arg == "--key-id") o.key_id = value;
      else if (arg == "--access-key-id") o.access_key_id = value;
      else if (arg == "--secret-access-key") o.secret_access_key = value;
      else if (arg == "--region") o.region = value;
      else if (arg == "--label") o.label = value;
      else if (arg == "--connections") o.connections = std::stoi(value);
      else if (arg == "--threads") o.threads = std::stoi(value);
      else if (arg == "--duration") o.duration_s = std::stod(value);
      else if (arg == "--warmup") o.warmup_s = std::stod(value);
      else if (arg == "--requests") o.requests = std::stoull(value);
      else if (arg == "--timeout") o.timeout_s = std::stod(value);
      else {
        std::cerr << "kms_load: unknown option " << arg << "\n";
        return std::nullopt;
      }
    }
  } catch (const std::exception&) {
    std::cerr << "kms_load: bad numeric value\n";
    return std::nullopt;
  }
  if (o.port == 0 || o.key_id.empty() || o.access_key_id.empty() ||
      o.secret_access_key.empty() || o.connections < 1 || o.threads < 1 ||
      o.threads > o.connections || (o.requests == 0 && o.duration_s <= 0)) {
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
// SigV4 signing

void HexInto(const crypto::Sha256Bytes& bytes, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

// Builds complete signed KMS requests. One per event-loop thread: not thread-safe. Reuses its
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

  // Writes the whole HTTP/1.1 request for `target` ("TrentService.GenerateDataKey") and `body`
  // into `out` (cleared first; its capacity is kept).
  void Build(std::string_view target, std::string_view body, std::string& out) {
    RefreshDate();
    // 1. Canonical request: method, path, query, the signed headers, their names, payload hash.
    char payload_hash[64];
    HexInto(crypto::Sha256(body), payload_hash);
    canonical_.clear();
    canonical_.append("POST\n/\n\ncontent-type:").append(kContentType);
    canonical_.append("\nhost:").append(host_);
    canonical_.append("\nx-amz-date:").append(amz_date_, 16);
    canonical_.append("\nx-amz-target:").append(target);
    canonical_.append("\n\n").append(kSignedHeaders).append("\n");
    canonical_.append(payload_hash, 64);
    // 2. String to sign: algorithm, request time, scope, hash of the canonical request.
    char canonical_hash[64];
    HexInto(crypto::Sha256(canonical_), canonical_hash);
    string_to_sign_.clear();
    string_to_sign_.append("AWS4-HMAC-SHA256\n").append(amz_date_, 16).append("\n");
    string_to_sign_.append(scope_).append("\n").append(canonical_hash, 64);
    // 3. Signature: HMAC of the string to sign under the day's signing key.
    char signature[64];
    HexInto(crypto::HmacSha256(signing_key_, string_to_sign_), signature);
    // 4. The request itself.
    char length[24];
    int length_len = std::snprintf(length, sizeof length, "%zu", body.size());
    out.clear();
    out.append("POST / HTTP/1.1\r\nHost: ").append(host_);
    out.append("\r\nContent-Type: ").append(kContentType);
    out.append("\r\nX-Amz-Target: ").append(target);
    out.append("\r\nX-Amz-Date: ").append(amz_date_, 16);
    out.append("\r\nAuthorization: AWS4-HMAC-SHA256 Credential=").append(access_key_id_);
    out.append("/").append(scope_).append(", SignedHeaders=").append(kSignedHeaders);
    out.append(", Signature=").append(signature, 64);
    out.append("\r\nContent-Length: ").append(length, static_cast<size_t>(length_len));
    out.append("\r\n\r\n").append(body);
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
    auth::SigV4Scope scope{access_key_id_, day_, region_, "kms"};
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
  std::string scope_;  // <date>/<region>/kms/aws4_request
  crypto::Sha256Bytes signing_key_{};
  std::string canonical_;
  std::string string_to_sign_;
};

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 response parsing: just enough for an API server's answers (Content-Length, chunked, or
// delimited by the connection closing).

struct ParsedResponse {
  enum class State { kIncomplete, kComplete, kMalformed };
  State state = State::kIncomplete;
  int status = 0;
  size_t total = 0;          // bytes of the buffer this response occupies
  std::string_view body;     // the body when not chunked (a view into the buffer)
  bool chunked = false;
  bool close = false;        // server asked to close, or HTTP/1.0 without keep-alive
  bool until_close = false;  // no length: the body ends when the connection does
};

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

// Walks a chunked body starting at data[0]; returns the bytes up to and including the final CRLF,
// 0 if incomplete, npos if malformed. Appends the decoded body to `decoded` when not null.
size_t ChunkedLength(std::string_view data, std::string* decoded) {
  size_t pos = 0;
  for (;;) {
    size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return 0;
    size_t size = 0;
    size_t i = pos;
    for (; i < eol && std::isxdigit(static_cast<unsigned char>(data[i])); ++i) {
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(data[i])));
      size = size * 16 + static_cast<size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
      if (size > kMaxResponse) return std::string_view::npos;
    }
    if (i == pos) return std::string_view::npos;
    pos = eol + 2;
    if (size == 0) {
      // Trailers (none expected) end with an empty line.
      for (;;) {
        size_t end = data.find("\r\n", pos);
        if (end == std::string_view::npos) return 0;
        if (end == pos) return end + 2;
        pos = end + 2;
      }
    }
    if (data.size() < pos + size + 2) return 0;
    if (decoded) decoded->append(data.substr(pos, size));
    pos += size + 2;
  }
}

ParsedResponse ParseResponse(std::string_view data, bool at_eof) {
  ParsedResponse r;
  size_t header_end = data.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    if (at_eof || data.size() > 64 * 1024) r.state = ParsedResponse::State::kMalformed;
    return r;
  }
  std::string_view head = data.substr(0, header_end);
  // Status line: HTTP/1.x NNN reason
  if (head.size() < 12 || !head.starts_with("HTTP/1.")) {
    r.state = ParsedResponse::State::kMalformed;
    return r;
  }
  const bool http10 = head[7] == '0';
  r.close = http10;
  r.status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
  std::optional<size_t> content_length;
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos) {
    size_t start = line + 2;
    size_t next = head.find("\r\n", start);
    std::string_view field = head.substr(start, next == std::string_view::npos ? next : next - start);
    size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = field.substr(0, colon);
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (IEquals(name, "content-length")) {
        size_t n = 0;
        for (char c : value) {
          if (c < '0' || c > '9') break;
          n = n * 10 + static_cast<size_t>(c - '0');
        }
        content_length = n;
      } else if (IEquals(name, "transfer-encoding")) {
        r.chunked = IContains(value, "chunked");
      } else if (IEquals(name, "connection")) {
        if (IContains(value, "close")) r.close = true;
        if (http10 && IContains(value, "keep-alive")) r.close = false;
      }
    }
    line = next;
  }
  const size_t body_start = header_end + 4;
  std::string_view rest = data.substr(body_start);
  if (r.chunked) {
    size_t n = ChunkedLength(rest, nullptr);
    if (n == std::string_view::npos) {
      r.state = ParsedResponse::State::kMalformed;
    } else if (n > 0) {
      r.total = body_start + n;
      r.state = ParsedResponse::State::kComplete;
    } else if (at_eof) {
      r.state = ParsedResponse::State::kMalformed;
    }
    return r;
  }
  if (content_length) {
    if (*content_length > kMaxResponse) {
      r.state = ParsedResponse::State::kMalformed;
    } else if (rest.size() >= *content_length) {
      r.body = rest.substr(0, *content_length);
      r.total = body_start + *content_length;
      r.state = ParsedResponse::State::kComplete;
    } else if (at_eof) {
      r.state = ParsedResponse::State::kMalformed;
    }
    return r;
  }
  // Neither length nor chunking: the body runs to the end of the connection.
  r.until_close = true;
  r.close = true;
  if (at_eof) {
    r.body = rest;
    r.total = data.size();
    r.state = ParsedResponse::State::kComplete;
  } else if (rest.size() > kMaxResponse) {
    r.state = ParsedResponse::State::kMalformed;
  }
  return r;
}

// The decoded body of a complete response (copies only for chunked bodies).
std::string BodyOf(std::string_view data, const ParsedResponse& r) {
  if (!r.chunked) return std::string(r.body);
  std::string decoded;
  size_t body_start = data.find("\r\n\r\n") + 4;
  ChunkedLength(data.substr(body_start), &decoded);
  return decoded;
}

// Every successful answer to the operations kms_load drives names the key.
bool LooksLikeSuccess(std::string_view body) {
  return body.find("\"KeyId\"") != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Blocking one-off requests for setup (Encrypt, to get a ciphertext for the Decrypt run).

struct SimpleResponse {
  int status = 0;
  std::string body;
};

std::optional<SimpleResponse> RequestOnce(const Options& o, RequestSigner& signer,
                                          std::string_view target, std::string_view body,
                                          std::string& error) {
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    tcp::socket socket(io);
    asio::connect(socket, resolver.resolve(o.host, std::to_string(o.port)));
    std::string request;
    signer.Build(target, body, request);
    asio::write(socket, asio::buffer(request));
    std::string in;
    char chunk[16 * 1024];
    for (;;) {
      error_code ec;
      size_t n = socket.read_some(asio::buffer(chunk), ec);
      bool eof = ec == asio::error::eof;
      if (ec && !eof) throw boost::system::system_error(ec);
      in.append(chunk, n);
      ParsedResponse r = ParseResponse(in, eof);
      if (r.state == ParsedResponse::State::kMalformed) {
        error = "malformed response";
        return std::nullopt;
      }
      if (r.state == ParsedResponse::State::kComplete) return SimpleResponse{r.status, BodyOf(in, r)};
    }
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

// Extracts the string value of "name" from a flat JSON object (no escapes inside: base64 or ARN).
std::optional<std::string> JsonStringField(std::string_view json, std::string_view name) {
  std::string key = "\"" + std::string(name) + "\"";
  size_t k = json.find(key);
  if (k == std::string_view::npos) return std::nullopt;
  size_t colon = json.find(':', k + key.size());
  if (colon == std::string_view::npos) return std::nullopt;
  size_t open = json.find('"', colon + 1);
  if (open == std::string_view::npos) return std::nullopt;
  size_t close = json.find('"', open + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(json.substr(open + 1, close - open - 1));
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Cross-checks RequestSigner against the server's own SigV4 code (src/auth): the request it builds
// is parsed back and re-signed with auth::CanonicalRequest / StringToSign / SignatureHex.
bool SelfCheckSigner(const Options& o, RequestSigner& signer, std::string_view target,
                     std::string_view body) {
  std::string raw;
  signer.Build(target, body, raw);
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  req.path = "/";
  size_t header_end = raw.find("\r\n\r\n");
  size_t pos = raw.find("\r\n") + 2;
  while (pos < header_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string_view field(raw.data() + pos, eol - pos);
    size_t colon = field.find(':');
    req.headers.Add(field.substr(0, colon), field.substr(colon + 2));
    pos = eol + 2;
  }
  req.body = raw.substr(header_end + 4);
  auto sig = auth::ParseSigV4(req);
  if (!sig.ok() || !sig->has_value()) return false;
  std::string canonical =
      auth::CanonicalRequest(req, **sig, crypto::Sha256Hex(req.body), /*normalize_path=*/true);
  std::string expected = auth::SignatureHex(
      auth::DeriveSigningKey(o.secret_access_key, (*sig)->scope),
      auth::StringToSign(**sig, canonical));
  return expected == (*sig)->signature;
}

// ---------------------------------------------------------------------------------------------
// The load loop

// Shared by all event-loop threads.
struct RunControl {
  SteadyClock::time_point measure_start;
  SteadyClock::time_point measure_end;  // duration mode
  bool fixed_count = false;
  std::atomic<uint64_t> remaining{0};   // fixed-count mode: requests still to send
  SteadyClock::duration timeout;
};

// What one event-loop thread saw. Merged after the run.
struct Stats {
  uint64_t measured = 0;
  uint64_t errors = 0;
  uint64_t reconnects = 0;
  std::vector<uint32_t> latencies_us;  // of measured requests
  SteadyClock::time_point last_completion{};
  std::string first_error;
};

class Worker;

// One keep-alive connection with one request in flight. Owned by its Worker; runs on its thread.
class Connection {
 public:
  Connection(Worker& worker, asio::io_context& io) : worker_(worker), socket_(io) {
    request_.reserve(1024);
    in_.resize(16 * 1024);
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
  void OnWritten(error_code ec);
  void ReadMore();
  void OnRead(error_code ec, size_t n);
  void Fail(std::string what);

  Worker& worker_;
  tcp::socket socket_;
  std::string request_;
  std::vector<char> in_;
  size_t in_len_ = 0;
  bool in_flight_ = false;
  SteadyClock::time_point sent_at_{};
  // Set when the server closed the connection after a response (moto_server closes after every
  // one): the next request's latency then starts when the reconnect did, as a client's would.
  std::optional<SteadyClock::time_point> reconnect_started_;
};

// One event loop, its share of the connections, its signer and its statistics.
class Worker {
 public:
  Worker(const Options& o, RunControl& control, std::string_view target, std::string_view body,
         const tcp::resolver::results_type& endpoints, int connections)
      : control_(control),
        target_(target),
        body_(body),
        endpoints_(endpoints),
        signer_(o.access_key_id, o.secret_access_key, o.region,
                o.host + ":" + std::to_string(o.port)),
        watchdog_(io_) {
    for (int i = 0; i < connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(*this, io_));
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

  // Called by a connection before each request: false once the run is over.
  bool ShouldSend() {
    if (control_.fixed_count) {
      uint64_t left = control_.remaining.load(std::memory_order_relaxed);
      while (left > 0) {
        if (control_.remaining.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
          return true;
        }
      }
      return false;
    }
    return SteadyClock::now() < control_.measure_end;
  }

  void Record(SteadyClock::time_point sent, SteadyClock::time_point done) {
    if (done < control_.measure_start) return;  // warm-up
    if (!control_.fixed_count && done >= control_.measure_end) return;
    ++stats_.measured;
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

  RequestSigner& signer() { return signer_; }
  std::string_view target() const { return target_; }
  std::string_view body() const { return body_; }
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

  RunControl& control_;
  std::string_view target_;
  std::string_view body_;
  const tcp::resolver::results_type& endpoints_;
  asio::io_context io_{1};
  RequestSigner signer_;
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
  if (!worker_.ShouldSend()) {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    worker_.ConnectionDone();
    return;
  }
  worker_.signer().Build(worker_.target(), worker_.body(), request_);
  in_flight_ = true;
  sent_at_ = reconnect_started_.value_or(SteadyClock::now());
  reconnect_started_.reset();
  asio::async_write(socket_, asio::buffer(request_),
                    [this](error_code ec, size_t) { OnWritten(ec); });
}

void Connection::OnWritten(error_code ec) {
  if (ec) {
    Fail("write: " + ec.message());
    return;
  }
  ReadMore();
}

void Connection::ReadMore() {
  if (in_len_ == in_.size()) in_.resize(in_.size() * 2);
  socket_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                          [this](error_code ec, size_t n) { OnRead(ec, n); });
}

void Connection::OnRead(error_code ec, size_t n) {
  const bool eof = ec == asio::error::eof;
  if (ec && !eof) {
    Fail("read: " + ec.message());
    return;
  }
  in_len_ += n;
  std::string_view data(in_.data(), in_len_);
  ParsedResponse r = ParseResponse(data, eof);
  if (r.state == ParsedResponse::State::kIncomplete) {
    if (eof) {
      Fail("connection closed mid-response");
      return;
    }
    if (in_len_ > kMaxResponse + 64 * 1024) {
      Fail("response too large");
      return;
    }
    ReadMore();
    return;
  }
  if (r.state == ParsedResponse::State::kMalformed) {
    Fail("malformed response");
    return;
  }
  auto done = SteadyClock::now();
  in_flight_ = false;
  bool ok = r.status == 200;
  if (ok) {
    if (r.chunked) {
      ok = LooksLikeSuccess(BodyOf(data, r));
    } else {
      ok = LooksLikeSuccess(r.body);
    }
  }
  if (ok) {
    worker_.Record(sent_at_, done);
  } else {
    std::string body = BodyOf(data, r).substr(0, 300);
    worker_.Error("HTTP " + std::to_string(r.status) + ": " + body);
  }
  if (r.total != in_len_) {
    // One request in flight: nothing may follow the response.
    Fail("unexpected bytes after the response");
    return;
  }
  in_len_ = 0;
  if (r.close || eof) {
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
  in_flight_ = false;
  worker_.Error(std::move(what));
  error_code ignored;
  socket_.close(ignored);
  // A failed run is reported as such; don't hammer a broken server with reconnects.
  worker_.ConnectionDone();
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

int Main(int argc, char** argv) {
  auto parsed = ParseArgs(argc, argv);
  if (!parsed) {
    Usage();
    return 2;
  }
  const Options o = *parsed;
  const std::string target = "TrentService." + o.op;
  RequestSigner setup_signer(o.access_key_id, o.secret_access_key, o.region,
                             o.host + ":" + std::to_string(o.port));

  // Request bodies. The key id is ours (no quotes or backslashes expected) but quote it anyway.
  std::string plaintext_b64;
  {
    uint8_t plaintext[32];
    crypto::RandomBytes(plaintext);
    plaintext_b64 = crypto::Base64Encode(std::span<const uint8_t>(plaintext));
  }
  const std::string encrypt_body =
      "{\"KeyId\":" + JsonQuote(o.key_id) + ",\"Plaintext\":\"" + plaintext_b64 + "\"}";
  std::string body;
  // Sign / Verify / GenerateMac: a 32-byte message, as a signed telemetry frame or token.
  const std::string sign_body = "{\"KeyId\":" + JsonQuote(o.key_id) + ",\"Message\":\"" +
                                plaintext_b64 + "\",\"SigningAlgorithm\":" +
                                JsonQuote(o.algorithm);
  if (o.op == "GenerateDataKey") {
    body = "{\"KeyId\":" + JsonQuote(o.key_id) + ",\"KeySpec\":\"AES_256\"}";
  } else if (o.op == "Encrypt") {
    body = encrypt_body;
  } else if (o.op == "Sign") {
    body = sign_body + "}";
  } else if (o.op == "GenerateMac") {
    body = "{\"KeyId\":" + JsonQuote(o.key_id) + ",\"Message\":\"" + plaintext_b64 +
           "\",\"MacAlgorithm\":" + JsonQuote(o.algorithm) + "}";
  }

  if (!SelfCheckSigner(o, setup_signer, target, encrypt_body)) {
    std::cerr << "kms_load: the request signer disagrees with auth::CanonicalRequest\n";
    return 2;
  }

  // Setup: Decrypt needs a ciphertext from this server. Every op gets one preflight request so a
  // wrong key or credentials fail fast with the server's message.
  std::string error;
  if (o.op == "Decrypt") {
    auto r = RequestOnce(o, setup_signer, "TrentService.Encrypt", encrypt_body, error);
    if (!r || r->status != 200) {
      std::cerr << "kms_load: setup Encrypt failed: "
                << (r ? "HTTP " + std::to_string(r->status) + " " + r->body : error) << "\n";
      return 2;
    }
    auto blob = JsonStringField(r->body, "CiphertextBlob");
    if (!blob) {
      std::cerr << "kms_load: setup Encrypt returned no CiphertextBlob: " << r->body << "\n";
      return 2;
    }
    body = "{\"CiphertextBlob\":\"" + *blob + "\"}";
  }
  if (o.op == "Verify") {
    // Verify needs a signature from this server over the same message.
    auto r = RequestOnce(o, setup_signer, "TrentService.Sign", sign_body + "}", error);
    auto signature = r && r->status == 200 ? JsonStringField(r->body, "Signature") : std::nullopt;
    if (!signature) {
      std::cerr << "kms_load: setup Sign failed: "
                << (r ? "HTTP " + std::to_string(r->status) + " " + r->body : error) << "\n";
      return 2;
    }
    body = sign_body + ",\"Signature\":\"" + *signature + "\"}";
  }
  {
    auto r = RequestOnce(o, setup_signer, target, body, error);
    if (!r || r->status != 200 || !LooksLikeSuccess(r->body)) {
      std::cerr << "kms_load: preflight " << o.op << " failed: "
                << (r ? "HTTP " + std::to_string(r->status) + " " + r->body : error) << "\n";
      return 2;
    }
  }

  tcp::resolver::results_type endpoints;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    endpoints = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec) {
      std::cerr << "kms_load: cannot resolve " << o.host << ": " << ec.message() << "\n";
      return 2;
    }
  }

  RunControl control;
  control.timeout = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(o.timeout_s));
  const auto run_start = SteadyClock::now();
  if (o.requests > 0) {
    control.fixed_count = true;
    control.remaining = o.requests;
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
    workers.push_back(std::make_unique<Worker>(o, control, target, body, endpoints, share));
  }
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers.size(); ++t) threads.emplace_back([&, t] { workers[t]->Run(); });
  workers[0]->Run();
  for (auto& th : threads) th.join();
  const auto run_end = SteadyClock::now();
  const double cpu_used = CpuSeconds() - cpu_before;

  // Merge.
  Stats total;
  for (auto& w : workers) {
    Stats& s = w->stats();
    total.measured += s.measured;
    total.errors += s.errors;
    total.reconnects += s.reconnects;
    total.last_completion = std::max(total.last_completion, s.last_completion);
    if (total.first_error.empty()) total.first_error = s.first_error;
    total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(),
                              s.latencies_us.end());
  }
  double seconds = control.fixed_count
                       ? std::chrono::duration<double>(total.last_completion - run_start).count()
                       : o.duration_s;
  double rate = seconds > 0 ? static_cast<double>(total.measured) / seconds : 0;
  double mean = 0;
  for (uint32_t v : total.latencies_us) mean += v;
  if (!total.latencies_us.empty()) mean /= 1000.0 * static_cast<double>(total.latencies_us.size());
  double p50 = Percentile(total.latencies_us, 0.50);
  double p90 = Percentile(total.latencies_us, 0.90);
  double p99 = Percentile(total.latencies_us, 0.99);
  double p999 = Percentile(total.latencies_us, 0.999);
  double max = Percentile(total.latencies_us, 1.0);
  double wall = std::chrono::duration<double>(run_end - run_start).count();

  char json[2048];
  std::snprintf(json, sizeof json,
                "{\"label\":%s,\"op\":\"%s\",\"connections\":%d,\"threads\":%d,"
                "\"seconds\":%.3f,\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
                ",\"reconnects\":%" PRIu64
                ",\"rate\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
                "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
                "\"client_cpu_s\":%.3f,\"wall_s\":%.3f,\"first_error\":%s}",
                JsonQuote(o.label).c_str(), o.op.c_str(), o.connections, o.threads, seconds,
                total.measured, total.errors, total.reconnects, rate, mean, p50, p90, p99, p999,
                max, cpu_used, wall, JsonQuote(total.first_error).c_str());
  std::cout << json << std::endl;
  std::fprintf(stderr,
               "%-8s %-16s conns=%d requests=%" PRIu64 " errors=%" PRIu64
               " rate=%.0f/s p50=%.2fms p99=%.2fms client_cpu=%.0f%%\n",
               o.label.empty() ? "-" : o.label.c_str(), o.op.c_str(), o.connections,
               total.measured, total.errors, rate, p50, p99, 100.0 * cpu_used / wall);
  if (total.errors > 0) {
    std::fprintf(stderr, "first error: %s\n", total.first_error.c_str());
    return 1;
  }
  return total.measured > 0 ? 0 : 1;
}

}  // namespace
}  // namespace hangar::bench

int main(int argc, char** argv) { return hangar::bench::Main(argc, argv); }
