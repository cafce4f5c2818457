#pragma once
// RunStats: what the event-loop threads of a load run saw — each thread fills its own (no locks
// on the request path) and the run merges them at the end — and the latency summary made from
// them. Every latency of the measured window is kept (4 bytes each), so percentiles are exact.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hangar::bench {

struct RunStats {
  uint64_t measured = 0;        // successful requests completed inside the measured window
  uint64_t measured_bytes = 0;  // their payload bytes (body sent or received)
  uint64_t errors = 0;
  uint64_t reconnects = 0;             // the server closed a keep-alive connection; it was reopened
  std::vector<uint32_t> latencies_us;  // of measured requests
  std::chrono::steady_clock::time_point last_completion{};
  std::string first_error;
  std::map<std::string, uint64_t, std::less<>> errors_by_code;  // see aws_error.h for the keys

  // Counts a failed request under `code`; keeps `message` if it is the first.
  void RecordError(std::string_view code, std::string message);
  // Adds `other` (another thread's) to this; first_error stays this one's if it has one.
  void Merge(const RunStats& other);
};

// Latencies in milliseconds.
struct LatencySummary {
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Summarises `latencies_us` (reordered in place: nth_element per quantile). All zero when empty.
LatencySummary Summarize(std::vector<uint32_t>& latencies_us);

}  // namespace hangar::bench
