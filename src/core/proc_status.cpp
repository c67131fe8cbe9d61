#include "core/proc_status.h"

#include <cstdio>

#include <fmt/format.h>

namespace glm {

ResidentMemory resident_memory() {
  ResidentMemory m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return m;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmRSS: %ld", &kib) == 1) m.rss_mib = double(kib) / 1024.0;
    if (std::sscanf(line, "VmHWM: %ld", &kib) == 1) m.peak_mib = double(kib) / 1024.0;
  }
  std::fclose(f);
  return m;
}

std::string resident_memory_text() {
  const ResidentMemory m = resident_memory();
  return fmt::format("resident {:.1f} MiB, peak {:.1f} MiB", m.rss_mib, m.peak_mib);
}

}  // namespace glm
