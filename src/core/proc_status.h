#pragma once
// This process's resident memory from /proc/self/status (figures in logs and benchmarks).
#include <string>

namespace glm {

struct ResidentMemory {
  double rss_mib = -1, peak_mib = -1;  // VmRSS, VmHWM; -1 when unreadable
};

ResidentMemory resident_memory();
std::string resident_memory_text();  // "resident X MiB, peak Y MiB"

}  // namespace glm
