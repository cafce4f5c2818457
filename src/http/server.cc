#include "http/server.h"

#include <sys/resource.h>

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

#include <array>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/check.h"
#include "http/fiber.h"

namespace hangar::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;
using Clock = std::chrono::steady_clock;

constexpr size_t kResponseChunk = 256 * 1024;
constexpr size_t kStreamReadBuffer = 256 * 1024;
// What an idle keep-alive connection's wait for its next request reads into: the buffer exists for
// as long as the connection waits, so it is small (10,000 idle connections must stay under
// 100 MiB); a longer header is read on in a second step.
constexpr size_t kIdleReadBytes = 1024;
// Beast 1.74 compares the length against an optional limit and treats "none" as smaller than any
// length, so "no limit" must be spelled as the largest value. Handlers enforce their own limits.
constexpr uint64_t kUnlimitedBody = std::numeric_limits<uint64_t>::max();
// Connections turned away at the cap are answered by short-lived coroutines; beyond this many at
// once they are simply closed.
constexpr int kMaxRejectionsInFlight = 256;
// The largest body of a refused request that is still read (and dropped) to keep the connection.
constexpr uint64_t kDrainableBody = 8 * 1024;
constexpr std::string_view kRequestTimeoutText =
    "Your socket connection to the server was not read from or written to within the timeout "
    "period. Idle connections will be closed.";

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

// The deadline of the next read or write of a transfer (a body or a response): no progress at all
// for `inactivity`, or fewer than min_rate bytes per second on average once `grace` has passed.
class TransferDeadline {
 public:
  TransferDeadline(const ServerOptions& o)
      : start_(Clock::now()), inactivity_(o.body_timeout), grace_(o.rate_grace), rate_(o.min_rate) {}

  Clock::time_point Next(uint64_t bytes_done) const {
    Clock::time_point idle = Clock::now() + inactivity_;
    if (rate_ == 0) return idle;
    auto earned = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(bytes_done) / static_cast<double>(rate_)));
    return std::min(idle, start_ + grace_ + earned);
  }

 private:
  const Clock::time_point start_;
  const std::chrono::seconds inactivity_;
  const std::chrono::seconds grace_;
  const uint64_t rate_;
};

// Shares of byte budgets (up to two), returned when the lease goes out of scope.
class BudgetLease {
 public:
  BudgetLease() = default;
  BudgetLease(BudgetLease&& o) noexcept : shares_(o.shares_) { o.shares_ = {}; }
  BudgetLease& operator=(BudgetLease&& o) noexcept {
    std::swap(shares_, o.shares_);
    return *this;
  }
  ~BudgetLease() {
    for (auto& [used, bytes] : shares_) {
      if (used) used->fetch_sub(bytes);
    }
  }

  // Takes `bytes` of `limit` if that many are free; false leaves the lease as it was.
  bool Take(std::atomic<uint64_t>& used, uint64_t limit, uint64_t bytes) {
    uint64_t current = used.load();
    do {
      if (current + bytes > limit) return false;
    } while (!used.compare_exchange_weak(current, current + bytes));
    for (auto& share : shares_) {
      if (share.first == nullptr) {
        share = {&used, bytes};
        return true;
      }
    }
    HANGAR_CHECK(false);  // at most two shares
    return false;
  }

 private:
  std::array<std::pair<std::atomic<uint64_t>*, uint64_t>, 2> shares_{};
};

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

Status BodyTimedOut() { return Error(ErrorCode::kRequestTimeout, std::string(kRequestTimeoutText)); }

// Streams a request body to a handler running on a fiber: each Read() that finds no bytes waiting
// suspends the fiber, lets the connection's I/O thread read under the transfer deadline, and
// resumes on a worker once bytes (or an error) arrived. At most one caller-sized buffer of the body
// is in memory, and no thread waits for the network.
template <typename Stream>
class FiberBodyReader final : public BodyReader {
 public:
  FiberBodyReader(Stream& stream, beast::flat_buffer& buffer,
                  bhttp::request_parser<bhttp::buffer_body>& parser, asio::thread_pool& workers,
                  const ServerOptions& options)
      : stream_(stream),
        buffer_(buffer),
        parser_(parser),
        workers_(workers),
        deadline_(options) {}

  Result<size_t> Read(std::span<char> into) override {
    if (failed_) return failure_;
    if (into.empty()) return size_t{0};
    size_t got = 0;
    while (got == 0 && !parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = into.data();
      body.size = into.size();
      error_code ec;
      Fiber* fiber = Fiber::Current();
      HANGAR_CHECK(fiber != nullptr);
      // After the fiber has left this thread: read on the connection's thread; its completion
      // resumes the fiber on a worker.
      fiber->Suspend([&, fiber] {
        asio::post(stream_.get_executor(), [&, fiber] {
          Lowest(stream_).expires_at(deadline_.Next(received_));
          bhttp::async_read_some(stream_, buffer_, parser_, [&, fiber](error_code e, size_t) {
            ec = e;
            asio::post(workers_, [fiber] { fiber->Resume(); });
          });
        });
      });
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        failed_ = true;
        failure_ = ec == beast::error::timeout
                       ? BodyTimedOut()
                       : Error(ErrorCode::kIncompleteBody,
                               "You did not provide the number of bytes specified by the "
                               "Content-Length HTTP header.");
        return failure_;
      }
      got = into.size() - parser_.get().body().size;
      received_ += got;
    }
    return got;
  }

  bool done() const { return parser_.is_done(); }

 private:
  Stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  asio::thread_pool& workers_;
  const TransferDeadline deadline_;
  uint64_t received_ = 0;
  bool failed_ = false;
  Status failure_;
};

template <typename Fields>
void CopyHeaders(const HeaderList& from, Fields& to) {
  for (const auto& f : from.fields()) to.insert(f.name, f.value);
}

bool IsDescriptorExhaustion(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

// Connections the process can hold: its descriptor limit (raised to the hard limit) minus room
// for data files, the database and the admin listener.
size_t DefaultMaxConnections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const uint64_t usable = limit.rlim_cur > 192 ? limit.rlim_cur - 128 : limit.rlim_cur / 2;
  return static_cast<size_t>(std::min<uint64_t>(usable, 4096));
}

}  // namespace

class Server::Impl {
 public:
  Impl(const ServerOptions& options, RequestHandler& handler)
      : options_(options),
        handler_(handler),
        workers_(static_cast<size_t>(std::max(1, options.worker_threads))),
        max_connections_(options.max_connections > 0 ? options.max_connections
                                                     : DefaultMaxConnections()) {
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
  size_t open_connections() const {
    std::lock_guard lock(sessions_mu_);
    return sessions_.size();
  }

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
      auto deadline = Clock::now() + options_.shutdown_grace;
      asio::co_spawn(*contexts_[0], WaitForSessions(deadline), asio::detached);
    });
  }

 private:
  struct SessionEntry {
    asio::io_context* context;
    beast::tcp_stream* stream;
    bool idle;  // touched only on `context`'s thread
  };

  asio::awaitable<void> WaitForSessions(Clock::time_point deadline) {
    asio::steady_timer timer(*contexts_[0]);
    bool forced = false;
    while (active_sessions_.load() > 0 || rejections_.load() > 0) {
      if (!forced && Clock::now() > deadline) {
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

  // 1. accept; 2. on descriptor exhaustion back off (100 ms doubling to 1 s) instead of spinning
  //    on an accept that fails at once; 3. over the connection cap, answer 503 and close;
  //    4. otherwise serve the connection on the next I/O thread.
  asio::awaitable<void> Accept() {
    asio::steady_timer backoff(*contexts_[0]);
    auto pause = std::chrono::milliseconds(0);
    Clock::time_point last_warning;
    for (;;) {
      asio::io_context& ctx = NextContext();
      tcp::socket socket(ctx);
      error_code ec;
      co_await acceptor_->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_.load()) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        if (IsDescriptorExhaustion(ec)) {
          pause = std::clamp(pause * 2, std::chrono::milliseconds(100),
                             std::chrono::milliseconds(1000));
          if (Clock::now() - last_warning > std::chrono::seconds(10)) {
            spdlog::warn("accept failed: {} ({} connections open); pausing accepts",
                         ec.message(), active_sessions_.load());
            last_warning = Clock::now();
          }
          backoff.expires_after(pause);
          co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        continue;
      }
      pause = std::chrono::milliseconds(0);
      socket.set_option(tcp::no_delay(true), ec);
      if (static_cast<size_t>(active_sessions_.load()) >= max_connections_) {
        if (rejections_.load() < kMaxRejectionsInFlight) {
          rejections_.fetch_add(1);
          asio::co_spawn(ctx, RejectBusy(std::move(socket)),
                         [this](std::exception_ptr) { rejections_.fetch_sub(1); });
        }
        continue;  // a socket not handed on closes here
      }
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

  // Over the cap: a fixed 503 SlowDown in S3's words (which every client understands as "retry
  // later"), written under a short deadline without reading the request.
  asio::awaitable<void> RejectBusy(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(std::chrono::seconds(2));
    static const std::string kBusy = [] {
      const std::string body =
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
          "<Message>Please reduce your request rate.</Message></Error>";
      return "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    error_code ec;
    co_await asio::async_write(stream, asio::buffer(kBusy.data(), kBusy.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::awaitable<void> StartSession(tcp::socket socket, std::string remote,
                                     asio::io_context& ctx) {
    if (ssl_) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_);
      Lowest(stream).expires_after(options_.header_timeout);
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

  // Waits for the first byte of the next request (idle deadline), then reads its header (header
  // deadline). Returns false when the connection should end; writes 400/431 for a bad header.
  template <typename Stream>
  asio::awaitable<bool> ReadHeader(Stream& stream, beast::flat_buffer& buffer,
                                   bhttp::request_parser<bhttp::empty_body>& parser,
                                   const std::string& remote) {
    error_code ec;
    if (buffer.size() == 0) {
      Lowest(stream).expires_after(options_.idle_timeout);
      size_t n = co_await stream.async_read_some(buffer.prepare(kIdleReadBytes),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
      buffer.commit(n);
    }
    Lowest(stream).expires_after(options_.header_timeout);
    co_await bhttp::async_read_header(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_return true;
    if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted &&
        ec != beast::error::timeout && ec != asio::error::eof &&
        ec != asio::error::connection_reset) {
      // Malformed or oversized header: answer 400 and close, as a front door should.
      spdlog::debug("bad request header from {}: {}", remote, ec.message());
      co_await WriteBareStatus(stream, ec == bhttp::error::header_limit
                                           ? bhttp::status::request_header_fields_too_large
                                           : bhttp::status::bad_request);
    }
    co_return false;
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
      bool have_header = co_await ReadHeader(stream, buffer, header_parser, remote);
      set_idle(false);
      if (!have_header) break;
      if (!co_await ServeOne(stream, buffer, header_parser, remote, secure)) break;
    }
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(id);
  }

  // One exchange after its header; returns whether the connection stays open. A coroutine of its
  // own so that what a request needs is freed between requests: an idle connection keeps only
  // Session's small frame (10,000 idle connections must stay small).
  template <typename Stream>
  asio::awaitable<bool> ServeOne(Stream& stream, beast::flat_buffer& buffer,
                                 bhttp::request_parser<bhttp::empty_body>& header_parser,
                                 const std::string& remote, bool secure) {
    const auto started = std::chrono::steady_clock::now();
    bool keep_alive = header_parser.get().keep_alive();
    HttpRequest request = ToHttpRequest(header_parser, remote, secure);
    RoutePlan plan = handler_.Plan(request);
    Exchange exchange = co_await Serve(stream, buffer, header_parser, request, plan);
    exchange.response = co_await Released(request, std::move(exchange.response));
    if (buffer.size() == 0) buffer.shrink_to_fit();  // idle connections stay small
    // A body the handler did not read leaves the connection out of step: close after answering.
    if (!exchange.body_consumed || stopping_.load()) keep_alive = false;
    const ExchangeLabels labels = std::move(exchange.response.labels);
    const int status = exchange.response.status;
    const uint64_t bytes_out = request.method == "HEAD" ? 0
                               : exchange.response.body_source
                                   ? exchange.response.body_length
                                   : exchange.response.body.size();
    bool written = co_await WriteResponse(stream, request, std::move(exchange.response),
                                          keep_alive);
    handler_.Completed(request, CompletedExchange{
                                    labels, status, request.content_length.value_or(0),
                                    bytes_out,
                                    std::chrono::duration<double>(
                                        std::chrono::steady_clock::now() - started)
                                        .count(),
                                    written});
    co_return written && keep_alive;
  }

  struct Exchange {
    HttpResponse response;
    bool body_consumed = true;
  };

  // One request after its header: admission, the body as the plan wants it, the handler.
  template <typename Stream>
  asio::awaitable<Exchange> Serve(Stream& stream, beast::flat_buffer& buffer,
                                  bhttp::request_parser<bhttp::empty_body>& header_parser,
                                  HttpRequest& request, const RoutePlan& plan) {
    Exchange out;
    const bool expects_body = request.content_length.value_or(0) > 0 ||
                              header_parser.chunked();
    Admission admission =
        co_await RunAsPlanned(plan, [this, &request] { return handler_.Admit(request); });
    if (admission.refusal) {
      out.response = std::move(*admission.refusal);
      // A small declared body is read and dropped so the connection stays usable, as after any
      // other error; a large or chunked one is not worth reading: the connection closes instead.
      out.body_consumed = !expects_body;
      if (expects_body && !header_parser.chunked() &&
          request.content_length.value_or(0) <= kDrainableBody) {
        out.body_consumed = co_await Drain(stream, buffer, header_parser);
      }
      co_return out;
    }
    if (!plan.buffer_body) {
      // A streamed body holds one read buffer at a time; it counts against the same budgets.
      std::optional<BudgetLease> lease = TakeBudget(kStreamReadBuffer, admission.authenticated);
      if (!lease) {
        out.response = Busy(request);
        out.body_consumed = !expects_body;
        co_return out;
      }
      // Answer an Expect: 100-continue only once the request was admitted.
      if (IsHundredContinue(request)) co_await WriteContinue(stream);
      bhttp::request_parser<bhttp::buffer_body> body_parser(std::move(header_parser));
      body_parser.body_limit(kUnlimitedBody);
      // Beast reads into the session buffer before handing bytes to the body: with its small
      // default capacity a large upload would arrive 512 bytes per read.
      buffer.reserve(kStreamReadBuffer);
      FiberBodyReader<Stream> reader(stream, buffer, body_parser, workers_, options_);
      request.body_reader = &reader;
      out.response = co_await DispatchOnFiber(request);
      request.body_reader = nullptr;
      out.body_consumed = reader.done();
      co_return out;
    }

    const uint64_t declared = request.content_length.value_or(0);
    auto too_large = [&]() {
      return handler_.RenderError(
          request, plan.too_large ? *plan.too_large
                                  : Error(ErrorCode::kRequestTooLarge,
                                          "Request body of " + std::to_string(declared) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(plan.max_buffered_body) + " bytes"));
    };
    if (declared > plan.max_buffered_body) {
      out.response = too_large();
      out.body_consumed = false;
      co_return out;
    }
    // The bytes this body may occupy, reserved before reading it: all buffered bodies share one
    // budget, and those of callers nobody vouched for yet a smaller one.
    const uint64_t reserve = header_parser.chunked() ? plan.max_buffered_body : declared;
    std::optional<BudgetLease> lease = TakeBudget(reserve, admission.authenticated);
    if (!lease) {
      out.response = Busy(request);
      out.body_consumed = !expects_body;
      co_return out;
    }
    // Always answer an Expect: 100-continue we will read past, even for an empty body: some
    // clients (botocore) otherwise mistake the final status for the interim one.
    if (IsHundredContinue(request)) co_await WriteContinue(stream);
    bhttp::request_parser<bhttp::string_body> body_parser(std::move(header_parser));
    body_parser.body_limit(plan.max_buffered_body);
    error_code ec = co_await ReadWholeBody(stream, buffer, body_parser);
    if (ec == bhttp::error::body_limit) {
      out.response = too_large();
      out.body_consumed = false;
      co_return out;
    }
    if (ec) {
      out.response = handler_.RenderError(request, BodyTimedOut());
      out.body_consumed = false;
      co_return out;
    }
    request.body = std::move(body_parser.get().body());
    out.response = co_await RunAsPlanned(plan, [this, &request] { return Dispatch(request); });
    co_return out;
  }

  // Waits, without holding a thread, until the response may leave (its audit record is durable);
  // if it may not, the handler's rendering of the reason goes out instead.
  asio::awaitable<HttpResponse> Released(const HttpRequest& request, HttpResponse response) {
    if (!response.release) co_return response;
    auto release = std::move(response.release);
    response.release = nullptr;
    auto ex = co_await asio::this_coro::executor;
    Status status;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          auto done = std::make_shared<decltype(handler)>(std::move(handler));
          release([&status, ex, done](const Status& s) {
            status = s;
            asio::post(ex, [done]() mutable { (*done)(); });
          });
        },
        asio::use_awaitable);
    if (status.ok()) co_return response;
    HttpResponse refused = handler_.RenderError(request, status);
    refused.release = nullptr;  // the reason itself cannot be recorded
    refused.labels = std::move(response.labels);
    co_return refused;
  }

  // Reserves `bytes` of the budget for buffered bodies and, for a caller nobody vouched for yet,
  // of the smaller one for unauthenticated bytes as well.
  std::optional<BudgetLease> TakeBudget(uint64_t bytes, bool authenticated) {
    BudgetLease lease;
    if (!authenticated &&
        !lease.Take(unauthenticated_bytes_, options_.max_unauthenticated_bytes, bytes)) {
      return std::nullopt;
    }
    if (!lease.Take(buffered_bytes_, options_.max_buffered_bytes, bytes)) return std::nullopt;
    return lease;
  }

  HttpResponse Busy(const HttpRequest& request) {
    return handler_.RenderError(request,
                                Error(ErrorCode::kSlowDown, "Please reduce your request rate."));
  }

  // Reads and discards the (small, declared) body of a request answered from its header.
  template <typename Stream>
  asio::awaitable<bool> Drain(Stream& stream, beast::flat_buffer& buffer,
                              bhttp::request_parser<bhttp::empty_body>& header_parser) {
    bhttp::request_parser<bhttp::string_body> body_parser(std::move(header_parser));
    body_parser.body_limit(kDrainableBody);
    error_code ec = co_await ReadWholeBody(stream, buffer, body_parser);
    co_return !ec;
  }

  // Reads a buffered body read by read, each under the transfer deadline.
  template <typename Stream>
  asio::awaitable<error_code> ReadWholeBody(Stream& stream, beast::flat_buffer& buffer,
                                            bhttp::request_parser<bhttp::string_body>& parser) {
    TransferDeadline deadline(options_);
    uint64_t received = 0;
    error_code ec;
    while (!parser.is_done()) {
      Lowest(stream).expires_at(deadline.Next(received));
      size_t n = co_await bhttp::async_read_some(stream, buffer, parser,
                                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return ec;
      received += n;
    }
    co_return ec;
  }

  // Runs `f` where the plan says: inline on the I/O thread, or on a worker.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F&>> RunAsPlanned(const RoutePlan& plan, F f) {
    if (plan.run_inline) co_return f();
    co_return co_await Offload(workers_, std::move(f));
  }

  HttpResponse Dispatch(HttpRequest& request) {
    try {
      return handler_.Handle(request);
    } catch (const std::exception& e) {
      spdlog::error("handler threw: {}", e.what());
      return handler_.RenderError(request,
                                  InternalError("We encountered an internal error. Please try "
                                                "again."));
    }
  }

  // Runs the handler on a fiber over the worker pool, resuming this coroutine when it returns.
  asio::awaitable<HttpResponse> DispatchOnFiber(HttpRequest& request) {
    auto ex = co_await asio::this_coro::executor;
    HttpResponse response;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          auto done = std::make_shared<decltype(handler)>(std::move(handler));
          auto fiber = std::make_shared<std::unique_ptr<Fiber>>();
          *fiber = std::make_unique<Fiber>(
              [this, &request, &response, ex, done, fiber] {
                response = Dispatch(request);
                // Resume the session once this fiber is off its stack: the post below runs after
                // the worker's Resume() returned, and the fiber is destroyed on the session's side.
                Fiber::Current()->Suspend([ex, done, fiber] {
                  asio::post(ex, [done, fiber]() mutable {
                    (*fiber)->Resume();  // lets the body function return
                    fiber->reset();
                    (*done)();
                  });
                });
              },
              Fiber::DefaultStackSize());
          asio::post(workers_, [fiber] { (*fiber)->Resume(); });
        },
        asio::use_awaitable);
    co_return response;
  }

  template <typename Stream>
  asio::awaitable<void> WriteContinue(Stream& stream) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    Lowest(stream).expires_after(options_.body_timeout);
    error_code ec;
    co_await bhttp::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
  }

  template <typename Stream>
  asio::awaitable<void> WriteBareStatus(Stream& stream, bhttp::status status) {
    bhttp::response<bhttp::empty_body> res{status, 11};
    res.set(bhttp::field::connection, "close");
    res.set(bhttp::field::content_length, "0");
    Lowest(stream).expires_after(options_.body_timeout);
    error_code ec;
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }

  // Returns false if the connection must be dropped (write failed, too slow, or a streamed body
  // broke).
  template <typename Stream>
  asio::awaitable<bool> WriteResponse(Stream& stream, const HttpRequest& request,
                                      HttpResponse response, bool keep_alive) {
    const bool head = request.method == "HEAD";
    error_code ec;
    TransferDeadline deadline(options_);
    Lowest(stream).expires_at(deadline.Next(0));
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
      bhttp::response_serializer<bhttp::string_body> serializer{res};
      uint64_t sent = 0;
      while (!serializer.is_done()) {
        Lowest(stream).expires_at(deadline.Next(sent));
        sent += co_await bhttp::async_write_some(stream, serializer,
                                                 asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
      }
      co_return true;
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
      Lowest(stream).expires_at(deadline.Next(sent));
      co_await bhttp::async_write(stream, serializer,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return false;
      sent += *n;
    }
    res.body().data = nullptr;
    res.body().more = false;
    Lowest(stream).expires_at(deadline.Next(sent));
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
  const size_t max_connections_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> next_context_{0};
  std::atomic<uint64_t> next_session_id_{1};
  std::atomic<int> active_sessions_{0};
  std::atomic<int> rejections_{0};
  std::atomic<uint64_t> buffered_bytes_{0};
  std::atomic<uint64_t> unauthenticated_bytes_{0};
  mutable std::mutex sessions_mu_;
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
size_t Server::open_connections() const { return impl_->open_connections(); }
bool Server::tls() const { return impl_->tls(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace hangar::http
