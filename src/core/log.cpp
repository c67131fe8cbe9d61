#include "core/log.h"

#include "core/error.h"

namespace glm {

void set_log_level(const std::string& level) {
  spdlog::level::level_enum l;
  if (level == "debug") l = spdlog::level::debug;
  else if (level == "info") l = spdlog::level::info;
  else if (level == "warning" || level == "warn") l = spdlog::level::warn;
  else if (level == "error") l = spdlog::level::err;
  else if (level == "critical") l = spdlog::level::critical;
  else fail(ErrorKind::InvalidArgument, "--log-level: unknown level '{}' (debug, info, warning, error, critical)", level);
  spdlog::set_level(l);
}

}  // namespace glm
