#include "loadgen/stats.h"

#include <algorithm>

namespace hangar::bench {
namespace {

// The q-quantile by rank (nearest rank below), in milliseconds.
double Percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

void RunStats::RecordError(std::string_view code, std::string message) {
  if (errors++ == 0) first_error = std::move(message);
  auto it = errors_by_code.find(code);
  if (it == errors_by_code.end()) it = errors_by_code.emplace(std::string(code), 0).first;
  ++it->second;
}

void RunStats::Merge(const RunStats& other) {
  measured += other.measured;
  measured_bytes += other.measured_bytes;
  errors += other.errors;
  reconnects += other.reconnects;
  latencies_us.insert(latencies_us.end(), other.latencies_us.begin(), other.latencies_us.end());
  last_completion = std::max(last_completion, other.last_completion);
  if (first_error.empty()) first_error = other.first_error;
  for (const auto& [code, count] : other.errors_by_code) errors_by_code[code] += count;
}

LatencySummary Summarize(std::vector<uint32_t>& latencies_us) {
  LatencySummary s;
  if (latencies_us.empty()) return s;
  double sum = 0;
  for (uint32_t v : latencies_us) sum += v;
  s.mean_ms = sum / 1000.0 / static_cast<double>(latencies_us.size());
  s.p50_ms = Percentile(latencies_us, 0.50);
  s.p90_ms = Percentile(latencies_us, 0.90);
  s.p99_ms = Percentile(latencies_us, 0.99);
  s.p999_ms = Percentile(latencies_us, 0.999);
  s.max_ms = Percentile(latencies_us, 1.0);
  return s;
}

}  // namespace hangar::bench
