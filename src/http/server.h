#pragma once
// Server: the HTTP/1.1 front door (Beast + Asio, hidden behind this header). One I/O thread per
// io_context (default: one per core) parses and writes; handlers that may block (disk, fsync) run
// on a worker pool so an fsync never stalls other connections. A handler that streams a request
// body runs on a fiber that gives its worker back while it waits for the network: a slow client
// holds memory, never a thread. Every phase has a deadline and bodies a minimum rate
// (docs/hardening.md item 10); connections are capped; bodies buffered before their handler runs
// are bounded in total, more tightly for callers not yet authenticated. Optional TLS, and a
// graceful Stop() that lets in-flight requests finish.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/http_message.h"
#include "common/result.h"

namespace hangar::http {

// How a request's body is delivered and where its handler runs, decided from the header alone.
struct RoutePlan {
  // Read the whole body into HttpRequest::body before calling the handler (small API requests).
  // Otherwise the handler pulls it through HttpRequest::body_reader.
  bool buffer_body = true;
  uint64_t max_buffered_body = 1 << 20;
  // The answer when the declared or actual body exceeds max_buffered_body (default:
  // kRequestTooLarge with a message naming the limit).
  std::optional<Status> too_large;
  // Run Admit and Handle on the I/O thread. Only for handlers that never block (in-memory work).
  bool run_inline = false;
};

// What Admit decided from the header, before any body byte is read.
struct Admission {
  // Set when the request is answered without its body (refused, or nothing to read).
  std::optional<HttpResponse> refusal;
  // Whether a signature already vouches for the caller. Bodies of requests that are not yet
  // authenticated are counted against the server's budget for unauthenticated bytes.
  bool authenticated = false;
};

// Implemented by the router. Thread-safe: called concurrently from I/O and worker threads. For one
// request the server calls Plan (I/O thread), then Admit and Handle (both where the plan says).
struct CompletedExchange {
  const ExchangeLabels& labels;
  int status = 0;
  uint64_t bytes_in = 0;   // request body, as declared
  uint64_t bytes_out = 0;  // response body
  double seconds = 0;      // from the header's arrival to the response's last byte
  bool sent = false;       // false: the connection failed before the response was out
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual RoutePlan Plan(const HttpRequest& request) = 0;
  // Header-phase checks: authentication where the protocol allows it, whether the target exists,
  // authorisation that needs no body. May stash what it learnt in request.admitted for Handle.
  virtual Admission Admit(HttpRequest& request) {
    (void)request;
    return {};
  }
  virtual HttpResponse Handle(HttpRequest& request) = 0;
  // The response for a request refused before its handler ran (e.g. body over the limit).
  virtual HttpResponse RenderError(const HttpRequest& request, const Status& status) = 0;
  // After a response was sent (or the connection failed while sending it): for metrics and the
  // request log. Runs on an I/O thread: must not block.
  virtual void Completed(const HttpRequest& request, const CompletedExchange& exchange) {
    (void)request;
    (void)exchange;
  }
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port
  int io_threads = 0;  // 0: one per core
  int worker_threads = 64;
  size_t header_limit = 64 * 1024;
  // Connections served at once (0: derived from the descriptor limit). Beyond it a new connection
  // is answered 503 SlowDown and closed.
  size_t max_connections = 0;
  // Deadlines per phase: a keep-alive connection waiting for its next request; a request's header
  // from its first byte; a body (or response) making no progress at all.
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds header_timeout{20};
  std::chrono::seconds body_timeout{20};
  // After `rate_grace`, a body or response must have moved at least min_rate bytes per second on
  // average since it started, or it is cut.
  uint64_t min_rate = 1024;
  std::chrono::seconds rate_grace{10};
  // Bytes of request bodies buffered at once, in all and for callers not yet authenticated.
  uint64_t max_buffered_bytes = 256ULL << 20;
  uint64_t max_unauthenticated_bytes = 64ULL << 20;
  std::chrono::seconds shutdown_grace{30};
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
};

class Server {
 public:
  // Binds the listening socket. Errors: kInternal (address in use, bad TLS files, ...).
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options,
                                                RequestHandler& handler);
  ~Server();

  uint16_t port() const;
  bool tls() const;
  // Connections open now (serving, or idle between requests). Thread-safe.
  size_t open_connections() const;
  // Serves until Stop(); returns once every connection has closed.
  void Run();
  // Thread- and signal-safe to request; stops accepting, closes idle connections, lets requests in
  // flight finish (up to shutdown_grace).
  void Stop();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hangar::http
