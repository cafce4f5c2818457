#include "loadgen/process.h"

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace hangar::bench {

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::optional<ProcessMemory> ReadProcessMemory(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  // Lines such as "VmRSS:\t   12345 kB" (proc(5)); the kernel always reports kB.
  ProcessMemory m;
  bool rss = false;
  bool hwm = false;
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&line] { return std::stoull(line.substr(line.find(':') + 1)); };
    if (line.starts_with("VmRSS:")) {
      m.rss_kib = value();
      rss = true;
    } else if (line.starts_with("VmHWM:")) {
      m.hwm_kib = value();
      hwm = true;
    }
  }
  if (!rss || !hwm) return std::nullopt;  // a zombie or kernel thread has no Vm* lines
  return m;
}

}  // namespace hangar::bench
