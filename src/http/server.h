#pragma once
// Server: the HTTP/1.1 front door (Beast + Asio, hidden behind this header). One I/O thread per
// io_context (default: one per core) parses and writes; handlers that may block (disk, fsync,
// streaming bodies) run on a worker pool so an fsync never stalls other connections. Keep-alive,
// header and body limits, a timeout before every read and write, optional TLS, and a graceful
// Stop() that lets in-flight requests finish.

#include <chrono>
#include <cstdint>
#include <memory>
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
  // Run the handler on the I/O thread. Only for handlers that never block (in-memory work).
  bool run_inline = false;
};

// Implemented by the router. Thread-safe: called concurrently from I/O and worker threads.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual RoutePlan Plan(const HttpRequest& request) = 0;
  virtual HttpResponse Handle(HttpRequest& request) = 0;
  // The response for a request refused before its handler ran (e.g. body over the limit).
  virtual HttpResponse RenderError(const HttpRequest& request, const Status& status) = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port
  int io_threads = 0;  // 0: one per core
  int worker_threads = 64;
  size_t header_limit = 64 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds io_timeout{120};
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
