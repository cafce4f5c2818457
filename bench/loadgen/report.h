#pragma once
// The fixed output of every load generator (bench/README.md, "The output of kms_load and
// s3_load"): one JSON line on stdout, whose shared fields are written here so that every driver
// parses one format; the first error on stderr; the exit status.

#include <functional>
#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "loadgen/closed_loop.h"
#include "loadgen/options.h"
#include "loadgen/stats.h"

namespace hangar::bench {

// Writes `value` with `decimals` digits after the point (JsonObjectWriter::Double's %.6g would
// write a rate of 1234567.8 as 1.23457e+06).
void FixedNumber(JsonObjectWriter& json, std::string_view name, double value, int decimals);

// What a tool adds to the report of its run.
struct ToolReport {
  std::string name;  // "kms_load": prefixes messages on stderr
  std::string what;  // the workload on the summary line: "GenerateDataKey", "get       4096 B"
  // The workload's own fields of the JSON line, written after "label" ("op", "size" ...).
  std::function<void(JsonObjectWriter&, const RunResult&)> json_fields;
  // Text after the rate on the summary line (" 12.3 MB/s"); none when empty.
  std::function<std::string(const RunResult&)> after_rate;
};

// Runs the closed loop (RunClosedLoop) and reports it: on stdout the JSON line — "label", the
// tool's fields, then the fields every tool reports: connections, threads, seconds, requests,
// errors, reconnects, rate, mean_ms, p50_ms, p90_ms, p99_ms, p999_ms, max_ms, client_cpu_s,
// wall_s, first_error, errors_by_code and, with --server-pid, server_rss_kib and server_hwm_kib
// (null if /proc could not be read); on stderr a summary line and the first error. Returns the
// exit status: 0 when every request succeeded, 1 when any failed or none was measured, 2 when the
// run could not start.
int RunAndReport(const LoadOptions& o, const Workload& workload, const ToolReport& tool);

}  // namespace hangar::bench
