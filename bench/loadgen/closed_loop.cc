#include "loadgen/closed_loop.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "loadgen/aws_error.h"

namespace hangar::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

SteadyClock::duration Seconds(double s) {
  return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
}

// Shared by all event-loop threads; only `next` changes during the run.
struct RunControl {
  SteadyClock::time_point measure_start;
  SteadyClock::time_point measure_end;  // duration mode
  bool fixed_count = false;
  uint64_t total = 0;             // fixed-count mode: requests to send
  std::atomic<uint64_t> next{0};  // number of the next request
  SteadyClock::duration timeout;
};

class Worker;

// One keep-alive connection with one request in flight. Owned by its Worker; runs on its thread.
// A request is finished when both its response has been read and its body has been written (the
// two complete in either order: a server may answer before it has read the whole body). A
// connection that failed stays closed: a failed run is reported as such, and a broken server is
// not hammered with reconnects.
class Connection {
 public:
  Connection(Worker& worker, asio::io_context& io, std::unique_ptr<Exchange> exchange,
             size_t read_buffer)
      : worker_(worker), socket_(io), exchange_(std::move(exchange)), in_(read_buffer) {
    out_.reserve(1024);
  }

  void Start() { Connect(); }
  bool busy() const { return in_flight_; }
  SteadyClock::time_point sent_at() const { return sent_at_; }
  // The watchdog's verdict: the request took longer than --timeout. Its pending read fails next.
  void Abort() {
    timed_out_ = true;
    error_code ec;
    socket_.close(ec);
  }

 private:
  void Connect();
  void SendNext();
  void WriteBody();
  void OnWritten(error_code ec, size_t body_bytes);
  void ReadMore();
  void OnRead(error_code ec, size_t n);
  void OnResponse(bool eof);
  void Finish();
  void IoFailed(std::string_view what, const error_code& ec);
  void Fail(std::string_view code, std::string what);
  std::string Named(std::string what) const;

  Worker& worker_;
  tcp::socket socket_;
  std::unique_ptr<Exchange> exchange_;
  std::string out_;  // the head (and small body) of the request in flight
  std::vector<char> in_;
  size_t in_len_ = 0;  // unconsumed bytes at the start of in_ (an incomplete response head)
  ResponseParser parser_;
  bool failed_ = false;
  bool timed_out_ = false;
  bool in_flight_ = false;
  bool writing_ = false;        // the request (head or body) is still being written
  bool response_done_ = false;  // its response has been read whole
  bool eof_ = false;            // the server closed after that response
  uint64_t stream_total_ = 0;   // body bytes to stream after the head
  uint64_t stream_sent_ = 0;    // ... written so far
  uint64_t stream_issued_ = 0;  // ... handed to a write (completed or not)
  SteadyClock::time_point sent_at_{};
  // Set when the server closed the connection after a response (moto_server does after every
  // one): the next request's latency then starts when the reconnect did, as a client's would.
  std::optional<SteadyClock::time_point> reconnect_started_;
};

// One event loop, its share of the connections, and its statistics.
class Worker {
 public:
  Worker(RunControl& control, const tcp::resolver::results_type& endpoints,
         const Workload& workload, int connections, size_t latency_reserve)
      : control_(control), endpoints_(endpoints), watchdog_(io_) {
    for (int i = 0; i < connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(*this, io_, workload.NewExchange(),
                                                          workload.ReadBufferSize()));
    }
    stats_.latencies_us.reserve(latency_reserve);
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

  void Error(std::string_view code, std::string what) { stats_.RecordError(code, std::move(what)); }
  void Reconnected() { ++stats_.reconnects; }
  void ConnectionDone() {
    if (++finished_ == connections_.size()) watchdog_.cancel();
  }

  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  const RunStats& stats() const { return stats_; }

 private:
  // Once a second: close connections whose request is older than the timeout (their read fails
  // and is counted as a timeout). Cheaper than a timer per request. Stops re-arming once every
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
  const tcp::resolver::results_type& endpoints_;
  asio::io_context io_{1};
  asio::steady_timer watchdog_;
  std::vector<std::unique_ptr<Connection>> connections_;
  size_t finished_ = 0;
  RunStats stats_;
};

void Connection::Connect() {
  asio::async_connect(socket_, worker_.endpoints(), [this](error_code ec, const tcp::endpoint&) {
    if (ec) {
      IoFailed("connect", ec);
      return;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    in_len_ = 0;
    SendNext();
  });
}

void Connection::SendNext() {
  auto number = worker_.NextRequest();
  if (!number) {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    worker_.ConnectionDone();
    return;
  }
  stream_total_ = exchange_->Begin(*number, out_);
  stream_sent_ = 0;
  stream_issued_ = 0;
  response_done_ = false;
  eof_ = false;
  parser_.Reset();
  in_flight_ = true;
  writing_ = true;
  sent_at_ = reconnect_started_.value_or(SteadyClock::now());
  reconnect_started_.reset();
  asio::async_write(socket_, asio::buffer(out_),
                    [this](error_code ec, size_t) { OnWritten(ec, 0); });
  // Read while the body streams: a server may answer early (an error) and stop reading.
  ReadMore();
}

void Connection::WriteBody() {
  std::string_view chunk = exchange_->BodyChunk(stream_sent_);
  chunk = chunk.substr(0, stream_total_ - stream_sent_);
  stream_issued_ = stream_sent_ + chunk.size();
  asio::async_write(socket_, asio::buffer(chunk.data(), chunk.size()),
                    [this](error_code ec, size_t written) { OnWritten(ec, written); });
}

void Connection::OnWritten(error_code ec, size_t body_bytes) {
  if (failed_) return;
  if (ec) {
    IoFailed("write", ec);
    return;
  }
  stream_sent_ += body_bytes;
  if (stream_sent_ < stream_total_ && !response_done_) {
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
    IoFailed("read", ec);
    return;
  }
  in_len_ += n;
  std::string_view data(in_.data(), in_len_);
  ResponseParser::Result r = parser_.Feed(data, *exchange_);
  if (r == ResponseParser::Result::kNeedMore && eof) {
    if (parser_.Finish() != ResponseParser::Result::kComplete) {
      Fail(kErrorConnection, "connection closed mid-response");
      return;
    }
    r = ResponseParser::Result::kComplete;
  }
  if (r == ResponseParser::Result::kMalformed) {
    Fail(kErrorMalformed, "malformed response");
    return;
  }
  if (r == ResponseParser::Result::kNeedMore) {
    // Keep what the parser did not consume (part of a head) at the start of the buffer.
    if (!data.empty() && data.data() != in_.data()) {
      std::memmove(in_.data(), data.data(), data.size());
    }
    in_len_ = data.size();
    if (in_len_ == in_.size()) {
      Fail(kErrorMalformed, "response head too large");
      return;
    }
    ReadMore();
    return;
  }
  if (!data.empty()) {
    // One request in flight: nothing may follow the response.
    Fail(kErrorMalformed, "unexpected bytes after the response");
    return;
  }
  in_len_ = 0;
  OnResponse(eof);
}

void Connection::OnResponse(bool eof) {
  response_done_ = true;
  eof_ = eof;
  if (writing_) {
    if (parser_.status() != 200 || stream_issued_ < stream_total_) {
      // Answered before it had the whole body: the stream is out of step with the request.
      Fail(ErrorCodeOf(parser_), "HTTP " + std::to_string(parser_.status()) +
                                     " before the whole body was sent: " + parser_.error_body());
    }
    return;  // the write handler finishes the request
  }
  Finish();
}

void Connection::Finish() {
  auto done = SteadyClock::now();
  in_flight_ = false;
  if (parser_.status() != 200) {
    worker_.Error(ErrorCodeOf(parser_),
                  Named("HTTP " + std::to_string(parser_.status()) + ": " + parser_.error_body()));
  } else if (std::string problem = exchange_->Check(parser_); !problem.empty()) {
    worker_.Error(kErrorCheck, Named(std::move(problem)));
  } else {
    worker_.Record(sent_at_, done, exchange_->PayloadBytes());
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

// A socket operation failed: a timeout if the watchdog closed the socket, else a broken connection.
void Connection::IoFailed(std::string_view what, const error_code& ec) {
  if (timed_out_) {
    Fail(kErrorTimeout, "no complete response within the timeout");
  } else {
    Fail(kErrorConnection, std::string(what) + ": " + ec.message());
  }
}

void Connection::Fail(std::string_view code, std::string what) {
  if (failed_) return;
  failed_ = true;
  // A (re)connect fails between requests: no request to name.
  worker_.Error(code, in_flight_ ? Named(std::move(what)) : std::move(what));
  in_flight_ = false;
  error_code ignored;
  socket_.close(ignored);
  worker_.ConnectionDone();
}

std::string Connection::Named(std::string what) const {
  std::string name = exchange_->Describe();
  return name.empty() ? what : name + ": " + what;
}

}  // namespace

std::optional<RunResult> RunClosedLoop(const LoadOptions& o, const Workload& workload,
                                       std::string& error) {
  tcp::resolver::results_type endpoints;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    endpoints = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec) {
      error = "cannot resolve " + o.host + ": " + ec.message();
      return std::nullopt;
    }
  }
  RunControl control;
  control.timeout = Seconds(o.timeout_s);
  const auto run_start = SteadyClock::now();
  if (o.requests > 0) {
    control.fixed_count = true;
    control.total = o.requests;
    control.measure_start = run_start;
  } else {
    control.measure_start = run_start + Seconds(o.warmup_s);
    control.measure_end = control.measure_start + Seconds(o.duration_s);
  }
  // Room for every latency of a fast run up front, so that the vector never grows mid-run.
  const double expected =
      (o.requests > 0 ? static_cast<double>(o.requests) : (o.duration_s + 1) * 50000.0) / o.threads;
  const auto reserve = static_cast<size_t>(std::min(expected, 4e6));

  const double cpu_before = SelfCpuSeconds();
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    int share = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(control, endpoints, workload, share, reserve));
  }
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers.size(); ++t) threads.emplace_back([&, t] { workers[t]->Run(); });
  workers[0]->Run();
  for (auto& th : threads) th.join();

  RunResult out;
  out.wall_s = std::chrono::duration<double>(SteadyClock::now() - run_start).count();
  out.cpu_s = SelfCpuSeconds() - cpu_before;
  if (o.server_pid > 0) out.server_memory = ReadProcessMemory(o.server_pid);
  for (auto& w : workers) out.stats.Merge(w->stats());
  const uint64_t next = control.next.load();
  out.issued = control.fixed_count ? std::min(next, control.total) : next;
  if (!control.fixed_count) {
    out.seconds = o.duration_s;
  } else if (out.stats.measured > 0) {
    out.seconds = std::chrono::duration<double>(out.stats.last_completion - run_start).count();
  }
  return out;
}

}  // namespace hangar::bench
