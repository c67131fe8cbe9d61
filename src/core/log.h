#pragma once
// Logging goes through spdlog's default logger (stderr). `--log-level` sets its level.
#include <spdlog/spdlog.h>

namespace glm {
void set_log_level(const std::string& level);  // debug|info|warning|error; throws on anything else
}
