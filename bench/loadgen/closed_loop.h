#pragma once
// The closed loop every load generator runs: N keep-alive connections spread over T event-loop
// threads, each connection with exactly one request in flight (no pipelining): send a request,
// read the whole response, judge it, send the next. A workload (KMS ops, S3 PUT/GET ...) only says
// what each request is and whether its answer is right; connections, timeouts, reconnects, the
// measured window and the statistics are here.
//
// The generator shares the machine with the server it measures, so the loop is built to be cheap:
// one single-threaded Asio event loop by default, callback handlers (no coroutine frames),
// per-connection buffers reused across requests, an incremental response parser that discards
// bodies as they stream in, and one watchdog timer per thread rather than one per request.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "loadgen/http_response.h"
#include "loadgen/options.h"
#include "loadgen/process.h"
#include "loadgen/stats.h"

namespace hangar::bench {

// One connection's requests, as the workload makes and judges them. Created on the main thread
// before the run, then used only on its connection's event-loop thread.
class Exchange : public BodySink {
 public:
  // Starts request `number` (0, 1, ... across the whole run and all connections): writes its head,
  // and any body sent with it, into `out` (its capacity is kept across requests). Returns how many
  // body bytes are to be streamed after it through BodyChunk.
  virtual uint64_t Begin(uint64_t number, std::string& out) = 0;

  // The streamed body from `offset` on: the next slice to write (not empty while bytes remain). It
  // must stay valid until the next call.
  virtual std::string_view BodyChunk(uint64_t offset) {
    (void)offset;
    return {};
  }

  // BodySink::OnBody receives the body of a 2xx answer as it arrives.

  // Judges a complete HTTP 200 answer: empty if it is a success, else what is wrong with it
  // (counted under "check"). Other statuses are failures without asking.
  virtual std::string Check(const ResponseParser& response) = 0;

  // The payload bytes a success counts for (the JSON line's bytes and mb_per_s).
  virtual uint64_t PayloadBytes() const { return 0; }

  // Names the request in error messages ("obj/00000042: HTTP 404 ..."); empty for none.
  virtual std::string Describe() const { return {}; }
};

// Makes the exchanges of a run; shared by all threads during set-up only.
class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::unique_ptr<Exchange> NewExchange() const = 0;
  // Each connection's read buffer; a response head must fit in it. Larger reads cost fewer
  // system calls for large GETs.
  virtual size_t ReadBufferSize() const { return 16 * 1024; }
};

struct RunResult {
  RunStats stats;
  uint64_t issued = 0;  // requests sent: warm-up and the stragglers after the window included
  double seconds = 0;   // the measured window: the duration, or start to last completion
  double wall_s = 0;    // the whole run
  double cpu_s = 0;     // the generator's CPU time during the run
  // With --server-pid: the server's memory right after the run (nullopt if it could not be read).
  std::optional<ProcessMemory> server_memory;

  double rate() const { return seconds > 0 ? static_cast<double>(stats.measured) / seconds : 0; }
};

// Runs the closed loop against o.host:o.port for o.duration_s after o.warmup_s, or for
// o.requests measured requests. Errors are counted in the result, never thrown; nullopt, with
// `error` set, only when the run could not start (the host does not resolve).
std::optional<RunResult> RunClosedLoop(const LoadOptions& o, const Workload& workload,
                                       std::string& error);

}  // namespace hangar::bench
