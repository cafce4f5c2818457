#include "http/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace hangar::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;

constexpr size_t kResponseChunk = 256 * 1024;
constexpr size_t kStreamReadBuffer = 256 * 1024;
// Beast 1.74 compares the length against an optional limit and treats "none" as smaller than any
// length, so "no limit" must be spelled as the largest value. Handlers enforce their own limits.
constexpr uint64_t kUnlimitedBody = std::numeric_limits<uint64_t>::max();

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

template <typename Stream>
beast::tcp_stream& Lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

// Runs `f` on the worker pool and resumes the calling coroutine on its own executor with the
// result. This is how blocking work (disk, fsync, handler code) stays off the I/O threads.
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> Offload(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F&>;
  auto ex = co_await asio::this_coro::executor;
  std::optional<R> result;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&](auto handler) {
        asio::post(pool, [&, ex, handler = std::move(handler)]() mutable {
          result.emplace(f());
          asio::post(ex, std::move(handler));
        });
      },
      asio::use_awaitable);
  co_return std::move(*result);
}

HttpRequest ToHttpRequest(const bhttp::request_parser<bhttp::empty_body>& parser,
                          const std::string& remote, bool secure) {
  const auto& h = parser.get();
  HttpRequest req;
  req.method = std::string(Sv(h.method_string()));
  req.target = std::string(Sv(h.target()));
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& field : h) req.headers.Add(Sv(field.name_string()), Sv(field.value()));
  if (auto len = parser.content_length()) req.content_length = *len;
  req.remote_address = remote;
  req.secure_transport = secure;
  return req;
}

bool IsHundredContinue(const HttpRequest& req) {
  const std::string* expect = req.headers.Find("expect");
  return expect && (*expect == "100-continue" || *expect == "100-Continue");
}

// Streams a request body to a handler running on a worker thread: each Read() runs one Beast read
// on the connection's I/O thread and waits for it, so the socket timeout still applies and at
// most one caller-sized buffer of the body is in memory.
template <typename Stream>
class StreamedBodyReader final : public BodyReader {
 public:
  StreamedBodyReader(Stream& stream, beast::flat_buffer& buffer,
                     bhttp::request_parser<bhttp::buffer_body>& parser,
                     std::chrono::seconds timeout)
      : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout) {}

  Result<size_t> Read(std::span<char> into) override {
    if (failed_) return Error(ErrorCode::kInvalidRequest, "the request body could not be read");
    if (into.empty()) return size_t{0};
    size_t got = 0;
    while (got == 0 && !parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = into.data();
      body.size = into.size();
      std::promise<error_code> done;
      auto future = done.get_future();
      asio::post(stream_.get_executor(), [&] {
        Lowest(stream_).expires_after(timeout_);
        bhttp::async_read_some(stream_, buffer_, parser_,
                               [&](error_code ec, size_t) { done.set_value(ec); });
      });
      error_code ec = future.get();
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        failed_ = true;
        return Error(ErrorCode::kInvalidRequest,
                     "You did not provide the number of bytes specified by the Content-Length "
                     "HTTP header.");
      }
      got = into.size() - parser_.get().body().size;
    }
    return got;
  }

  bool done() const { return parser_.is_done(); }

 private:
  Stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  const std::chrono::seconds timeout_;
  bool failed_ = false;
};

template <typename Fields>
void CopyHeaders(const HeaderList& from, Fields& to) {
  for (const auto& f : from.fields()) to.insert(f.name, f.value);
}

}  // namespace

class Server::Impl {
 public:
  Impl(const ServerOptions& options, RequestHandler& handler)
      : options_(options),
        handler_(handler),
        workers_(static_cast<size_t>(std::max(1, options.worker_threads))) {
    int n = options.io_threads > 0 ? options.io_threads
                                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(contexts_.back()->get_executor());
    }
    acceptor_ = std::make_unique<tcp::acceptor>(*contexts_[0]);
  }

  Status Bind() {
    error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return InternalError("invalid listen address " + options_.host);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return InternalError("cannot listen on " + options_.host + ":" +
                           std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint().port();
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
      ssl_->use_certificate_chain_file(options_.tls_cert_file, ec);
      if (!ec) ssl_->use_private_key_file(options_.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) return InternalError("cannot load TLS certificate or key: " + ec.message());
    }
    return Status::Ok();
  }

  uint16_t port() const { return port_; }
  bool tls() const { return ssl_ != nullptr; }

  void Run() {
    asio::co_spawn(*contexts_[0], Accept(), asio::detached);
    std::vector<std::thread> threads;
    for (size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([this, i] { contexts_[i]->run(); });
    }
    contexts_[0]->run();
    for (auto& t : threads) t.join();
    workers_.join();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    asio::post(*contexts_[0], [this] {
      error_code ec;
      acceptor_->close(ec);
      CloseSessions(/*idle_only=*/true);
      auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
      asio::co_spawn(*contexts_[0], WaitForSessions(deadline), asio::detached);
    });
  }

 private:
  struct SessionEntry {
    asio::io_context* context;
    beast::tcp_stream* stream;
    bool idle;  // touched only on `context`'s thread
  };

  asio::awaitable<void> WaitForSessions(std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer timer(*contexts_[0]);
    bool forced = false;
    while (active_sessions_.load() > 0) {
      if (!forced && std::chrono::steady_clock::now() > deadline) {
        spdlog::warn("shutdown grace period over; closing {} connections",
                     active_sessions_.load());
        CloseSessions(/*idle_only=*/false);
        forced = true;
      }
      timer.expires_after(std::chrono::milliseconds(20));
      error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    for (auto& g : guards_) g.reset();
    for (auto& c : contexts_) c->stop();
  }

  void CloseSessions(bool idle_only) {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, entry] : sessions_) {
      uint64_t session_id = id;
      asio::post(*entry.context, [this, session_id, idle_only] {
        std::lock_guard inner(sessions_mu_);
        auto it = sessions_.find(session_id);
        if (it == sessions_.end()) return;
        if (idle_only && !it->second.idle) return;
        error_code ec;
        it->second.stream->socket().shutdown(tcp::socket::shutdown_both, ec);
        it->second.stream->cancel();
      });
    }
  }

  asio::io_context& NextContext() {
    size_t i = next_context_.fetch_add(1) % contexts_.size();
    return *contexts_[i];
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      asio::io_context& ctx = NextContext();
      tcp::socket socket(ctx);
      error_code ec;
      co_await acceptor_->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_.load()) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::string remote = socket.remote_endpoint(ec).address().to_string();
      active_sessions_.fetch_add(1);
      asio::co_spawn(ctx, StartSession(std::move(socket), std::move(remote), ctx),
                     [this](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("connection ended by exception: {}", ex.what());
                         }
                       }
                       active_sessions_.fetch_sub(1);
                     });
    }
  }

  asio::awaitable<void> StartSession(tcp::socket socket, std::string remote,
                                     asio::io_context& ctx) {
    if (ssl_) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_);
      Lowest(stream).expires_after(options_.io_timeout);
      error_code ec;
      co_await stream.async_handshake(asio::ssl::stream_base::server,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      co_await Session(stream, remote, ctx, /*secure=*/true);
      Lowest(stream).expires_after(std::chrono::seconds(5));
      co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await Session(stream, remote, ctx, /*secure=*/false);
      error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  template <typename Stream>
  asio::awaitable<void> Session(Stream& stream, const std::string& remote, asio::io_context& ctx,
                                bool secure) {
    const uint64_t id = next_session_id_.fetch_add(1);
    {
      std::lock_guard lock(sessions_mu_);
      sessions_[id] = SessionEntry{&ctx, &Lowest(stream), true};
    }
    auto set_idle = [&](bool idle) {
      std::lock_guard lock(sessions_mu_);
      sessions_[id].idle = idle;
    };
    beast::flat_buffer buffer;
    for (;;) {
      if (stopping_.load()) break;
      set_idle(true);
      bhttp::request_parser<bhttp::empty_body> header_parser;
      header_parser.header_limit(static_cast<uint32_t>(options_.header_limit));
      header_parser.body_limit(kUnlimitedBody);
      Lowest(stream).expires_after(options_.idle_timeout);
      error_code ec;
      co_await bhttp::async_read_header(stream, buffer, header_parser,
                                        asio::redirect_error(asio::use_awaitable, ec));
      set_idle(false);
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted &&
            ec != beast::error::timeout && ec != asio::error::eof &&
            ec != asio::error::connection_reset) {
          // Malformed or oversized header: answer 400 and close, as a front door should.
          spdlog::debug("bad request header from {}: {}", remote, ec.message());
          co_await WriteBareStatus(stream, ec == bhttp::error::header_limit
                                               ? bhttp::status::request_header_fields_too_large
                                               : bhttp::status::bad_request);
        }
        break;
      }
      bool keep_alive = header_parser.get().keep_alive();
      HttpRequest request = ToHttpRequest(header_parser, remote, secure);
      RoutePlan plan = handler_.Plan(request);
      HttpResponse response;
      bool body_consumed = true;

      if (plan.buffer_body) {
        uint64_t declared = request.content_length.value_or(0);
        if (declared > plan.max_buffered_body) {
          response = handler_.RenderError(
              request, Error(ErrorCode::kRequestTooLarge,
                             "Request body of " + std::to_string(declared) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(plan.max_buffered_body) + " bytes"));
          body_consumed = false;
        } else {
          // Always answer an Expect: 100-continue we will read past, even for an empty body:
          // some clients (botocore) otherwise mistake the final status for the interim one.
          if (IsHundredContinue(request)) co_await WriteContinue(stream);
          bhttp::request_parser<bhttp::string_body> body_parser(std::move(header_parser));
          body_parser.body_limit(plan.max_buffered_body);
          Lowest(stream).expires_after(options_.io_timeout);
          co_await bhttp::async_read(stream, buffer, body_parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
          if (ec == bhttp::error::body_limit) {
            response = handler_.RenderError(
                request, Error(ErrorCode::kRequestTooLarge, "Request body exceeds the limit"));
            body_consumed = false;
          } else if (ec) {
            break;  // connection broke mid-body: nothing sensible to answer
          } else {
            request.body = std::move(body_parser.get().body());
            response = co_await Dispatch(request, plan);
          }
        }
      } else {
        if (IsHundredContinue(request)) co_await WriteContinue(stream);
        bhttp::request_parser<bhttp::buffer_body> body_parser(std::move(header_parser));
        body_parser.body_limit(kUnlimitedBody);
        // Beast reads into the session buffer before handing bytes to the body: with its small
        // default capacity a large upload would arrive 512 bytes per read.
        buffer.reserve(kStreamReadBuffer);
        StreamedBodyReader<Stream> reader(stream, buffer, body_parser, options_.io_timeout);
        request.body_reader = &reader;
        response = co_await Dispatch(request, plan);
        request.body_reader = nullptr;
        body_consumed = reader.done();
        if (buffer.size() == 0) buffer.shrink_to_fit();  // idle connections stay small
      }

      // A body the handler did not read leaves the connection out of step: close after answering.
      if (!body_consumed || stopping_.load()) keep_alive = false;
      bool written = co_await WriteResponse(stream, request, std::move(response), keep_alive);
      if (!written || !keep_alive) break;
    }
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(id);
  }

  asio::awaitable<HttpResponse> Dispatch(HttpRequest& request, const RoutePlan& plan) {
    auto call = [this, &request]() -> HttpResponse {
      try {
        return handler_.Handle(request);
      } catch (const std::exception& e) {
        spdlog::error("handler threw: {}", e.what());
        return handler_.RenderError(request, InternalError("We encountered an internal error. "
                                                           "Please try again."));
      }
    };
    if (plan.run_inline) co_return call();
    co_return co_await Offload(workers_, call);
  }

  template <typename Stream>
  asio::awaitable<void> WriteContinue(Stream& stream) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    Lowest(stream).expires_after(options_.io_timeout);
    error_code ec;
    co_await bhttp::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
  }

  template <typename Stream>
  asio::awaitable<void> WriteBareStatus(Stream& stream, bhttp::status status) {
    bhttp::response<bhttp::empty_body> res{status, 11};
    res.set(bhttp::field::connection, "close");
    res.set(bhttp::field::content_length, "0");
    Lowest(stream).expires_after(options_.io_timeout);
    error_code ec;
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }

  // Returns false if the connection must be dropped (write failed or a streamed body broke).
  template <typename Stream>
  asio::awaitable<bool> WriteResponse(Stream& stream, const HttpRequest& request,
                                      HttpResponse response, bool keep_alive) {
    const bool head = request.method == "HEAD";
    error_code ec;
    Lowest(stream).expires_after(options_.io_timeout);
    if (!response.body_source || head) {
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
      CopyHeaders(response.headers, res);
      res.keep_alive(keep_alive);
      if (head) {
        // HEAD: the handler's Content-Length describes the entity; no body follows.
        if (!response.headers.Has("content-length")) {
          uint64_t length = response.body_source ? response.body_length : response.body.size();
          res.set(bhttp::field::content_length, std::to_string(length));
        }
      } else {
        res.body() = std::move(response.body);
        res.prepare_payload();
      }
      co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    }

    bhttp::response<bhttp::buffer_body> res{static_cast<bhttp::status>(response.status), 11};
    CopyHeaders(response.headers, res);
    res.keep_alive(keep_alive);
    res.set(bhttp::field::content_length, std::to_string(response.body_length));
    res.body().data = nullptr;
    res.body().more = true;
    bhttp::response_serializer<bhttp::buffer_body> serializer{res};
    co_await bhttp::async_write_header(stream, serializer,
                                       asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    std::vector<char> chunk(kResponseChunk);
    uint64_t sent = 0;
    BodySource* source = response.body_source.get();
    while (sent < response.body_length) {
      size_t want = static_cast<size_t>(
          std::min<uint64_t>(chunk.size(), response.body_length - sent));
      Result<size_t> n = co_await Offload(
          workers_, [&]() { return source->Read(std::span<char>(chunk.data(), want)); });
      if (!n.ok() || *n == 0) {
        // The entity broke after the status line went out: the only honest signal left is to
        // cut the connection so the client sees a short body.
        spdlog::error("response body ended early: {}",
                      n.ok() ? std::string("short read") : n.status().ToString());
        co_return false;
      }
      res.body().data = chunk.data();
      res.body().size = *n;
      res.body().more = true;
      Lowest(stream).expires_after(options_.io_timeout);
      co_await bhttp::async_write(stream, serializer,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return false;
      sent += *n;
    }
    res.body().data = nullptr;
    res.body().more = false;
    co_await bhttp::async_write(stream, serializer,
                                asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  const ServerOptions options_;
  RequestHandler& handler_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::ssl::context> ssl_;
  asio::thread_pool workers_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> next_context_{0};
  std::atomic<uint64_t> next_session_id_{1};
  std::atomic<int> active_sessions_{0};
  std::mutex sessions_mu_;
  std::unordered_map<uint64_t, SessionEntry> sessions_;  // protected by sessions_mu_
};

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options,
                                               RequestHandler& handler) {
  auto impl = std::make_unique<Impl>(options, handler);
  HANGAR_RETURN_IF_ERROR(impl->Bind());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
uint16_t Server::port() const { return impl_->port(); }
bool Server::tls() const { return impl_->tls(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace hangar::http
