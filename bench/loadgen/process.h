#pragma once
// What the load generator measures of processes: its own CPU time (the generator shares the cores
// with the server it measures, so its share is part of every result) and the memory of the
// server, read from /proc (Linux) when the driver names the server's pid.

#include <cstdint>
#include <optional>

namespace hangar::bench {

// User plus system CPU seconds this process has used so far (getrusage).
double SelfCpuSeconds();

struct ProcessMemory {
  uint64_t rss_kib = 0;  // VmRSS: resident now
  uint64_t hwm_kib = 0;  // VmHWM: the peak resident size so far
};

// VmRSS and VmHWM of process `pid` from /proc/<pid>/status; nullopt if it cannot be read (the
// process is gone, or not ours to see).
std::optional<ProcessMemory> ReadProcessMemory(int pid);

}  // namespace hangar::bench
