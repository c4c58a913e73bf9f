#include "supervisor/line_splitter.h"

namespace vigil {

void LineSplitter::Feed(absl::string_view chunk, const LineCallback& emit) {
  while (!chunk.empty()) {
    size_t newline = chunk.find('\n');
    if (newline == absl::string_view::npos) {
      partial_.append(chunk.data(), chunk.size());
      while (partial_.size() >= max_line_) {
        emit(absl::string_view(partial_).substr(0, max_line_));
        partial_.erase(0, max_line_);
      }
      return;
    }
    partial_.append(chunk.data(), newline);
    chunk.remove_prefix(newline + 1);
    absl::string_view line = partial_;
    while (line.size() > max_line_) {
      emit(line.substr(0, max_line_));
      line.remove_prefix(max_line_);
    }
    emit(line);
    partial_.clear();
  }
}

void LineSplitter::Flush(const LineCallback& emit) {
  if (!partial_.empty()) emit(partial_);
  partial_.clear();
}

}  // namespace vigil
