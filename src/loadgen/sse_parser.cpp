#include "loadgen/sse_parser.h"

namespace glm::loadgen {

void SseParser::feed(std::string_view bytes, const OnData& on_data) {
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') {
      last_was_cr_ = false;
      continue;
    }
    if (c == '\n' && last_was_cr_ && i == start && partial_.empty()) {  // the \n of a \r\n
      last_was_cr_ = false;
      start = i + 1;
      continue;
    }
    partial_.append(bytes.substr(start, i - start));
    line(partial_, on_data);
    partial_.clear();
    last_was_cr_ = (c == '\r');
    start = i + 1;
  }
  partial_.append(bytes.substr(start));
}

void SseParser::line(std::string_view l, const OnData& on_data) {
  if (l.empty()) {
    if (has_data_) on_data(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment
  const size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon), value;
  if (colon != std::string_view::npos) {
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return;
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

}  // namespace glm::loadgen
