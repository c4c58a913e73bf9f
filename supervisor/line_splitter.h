// LineSplitter: turns chunks read from a unit's stdout/stderr pipe into whole
// lines. A line longer than the limit is emitted in pieces rather than
// buffered without bound, so a unit cannot grow vigild's memory.
#ifndef VIGIL_SUPERVISOR_LINE_SPLITTER_H_
#define VIGIL_SUPERVISOR_LINE_SPLITTER_H_

#include <functional>
#include <string>
#include "absl/strings/string_view.h"

namespace vigil {

class LineSplitter {
 public:
  using LineCallback = std::function<void(absl::string_view line)>;

  explicit LineSplitter(size_t max_line = 8192) : max_line_(max_line) {}

  void Feed(absl::string_view chunk, const LineCallback& emit);
  // At end of stream: a last line without a newline is still a line.
  void Flush(const LineCallback& emit);

 private:
  size_t max_line_;
  std::string partial_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_LINE_SPLITTER_H_
