#include "loadgen/report.h"

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <string>

namespace hangar::bench {

void FixedNumber(JsonObjectWriter& json, std::string_view name, double value, int decimals) {
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  json.Raw(name, std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
}

namespace {

void PrintJsonLine(const LoadOptions& o, const RunResult& run, const LatencySummary& latency,
                   const ToolReport& tool) {
  const RunStats& s = run.stats;
  std::string line;
  JsonObjectWriter json(line);
  json.String("label", o.label);
  if (tool.json_fields) tool.json_fields(json, run);
  json.Number("connections", static_cast<uint64_t>(o.connections));
  json.Number("threads", static_cast<uint64_t>(o.threads));
  FixedNumber(json, "seconds", run.seconds, 3);
  json.Number("requests", s.measured);
  json.Number("errors", s.errors);
  json.Number("reconnects", s.reconnects);
  FixedNumber(json, "rate", run.rate(), 1);
  FixedNumber(json, "mean_ms", latency.mean_ms, 3);
  FixedNumber(json, "p50_ms", latency.p50_ms, 3);
  FixedNumber(json, "p90_ms", latency.p90_ms, 3);
  FixedNumber(json, "p99_ms", latency.p99_ms, 3);
  FixedNumber(json, "p999_ms", latency.p999_ms, 3);
  FixedNumber(json, "max_ms", latency.max_ms, 3);
  FixedNumber(json, "client_cpu_s", run.cpu_s, 3);
  FixedNumber(json, "wall_s", run.wall_s, 3);
  json.String("first_error", s.first_error);
  // The keys are server-chosen text (AWS error codes), so they are escaped as values are; the
  // writer's member names are not.
  std::string by_code = "{";
  for (const auto& [code, count] : s.errors_by_code) {
    if (by_code.size() > 1) by_code += ',';
    AppendJsonString(by_code, code);
    by_code += ':' + std::to_string(count);
  }
  by_code += '}';
  json.Raw("errors_by_code", by_code);
  if (o.server_pid > 0) {
    const auto& m = run.server_memory;
    if (!m) std::cerr << "cannot read /proc/" << o.server_pid << "/status\n";
    json.Raw("server_rss_kib", m ? std::to_string(m->rss_kib) : "null");
    json.Raw("server_hwm_kib", m ? std::to_string(m->hwm_kib) : "null");
  }
  json.Finish();
  std::cout << line << std::endl;
}

void PrintSummaryLine(const LoadOptions& o, const RunResult& run, const LatencySummary& latency,
                      const ToolReport& tool) {
  const std::string after_rate = tool.after_rate ? tool.after_rate(run) : std::string();
  std::fprintf(stderr,
               "%-8s %s conns=%d requests=%" PRIu64 " errors=%" PRIu64
               " rate=%.0f/s%s p50=%.2fms p99=%.2fms client_cpu=%.0f%%\n",
               o.label.empty() ? "-" : o.label.c_str(), tool.what.c_str(), o.connections,
               run.stats.measured, run.stats.errors, run.rate(), after_rate.c_str(), latency.p50_ms,
               latency.p99_ms, run.wall_s > 0 ? 100.0 * run.cpu_s / run.wall_s : 0.0);
}

}  // namespace

int RunAndReport(const LoadOptions& o, const Workload& workload, const ToolReport& tool) {
  std::string error;
  std::optional<RunResult> run = RunClosedLoop(o, workload, error);
  if (!run) {
    std::cerr << tool.name << ": " << error << "\n";
    return 2;
  }
  LatencySummary latency = Summarize(run->stats.latencies_us);
  PrintJsonLine(o, *run, latency, tool);
  PrintSummaryLine(o, *run, latency, tool);
  if (run->stats.errors > 0) {
    std::fprintf(stderr, "first error: %s\n", run->stats.first_error.c_str());
    return 1;
  }
  return run->stats.measured > 0 ? 0 : 1;
}

}  // namespace hangar::bench
