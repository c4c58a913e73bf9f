#include "supervisor/line_splitter.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vigil {
namespace {

std::vector<std::string> FeedAll(LineSplitter& splitter,
                                 const std::vector<std::string>& chunks,
                                 bool flush) {
  std::vector<std::string> lines;
  auto emit = [&](absl::string_view line) { lines.emplace_back(line); };
  for (const std::string& chunk : chunks) splitter.Feed(chunk, emit);
  if (flush) splitter.Flush(emit);
  return lines;
}

TEST(LineSplitterTest, JoinsLinesAcrossChunks) {
  LineSplitter splitter;
  EXPECT_EQ(FeedAll(splitter, {"hel", "lo\nwor", "ld\n", "\n"}, false),
            (std::vector<std::string>{"hello", "world", ""}));
}

TEST(LineSplitterTest, FlushEmitsUnterminatedLastLine) {
  LineSplitter splitter;
  EXPECT_EQ(FeedAll(splitter, {"a\nb"}, true),
            (std::vector<std::string>{"a", "b"}));
}

TEST(LineSplitterTest, SplitsOverlongLinesIntoBoundedPieces) {
  LineSplitter splitter(4);
  EXPECT_EQ(FeedAll(splitter, {"abcdefghij\nxy"}, true),
            (std::vector<std::string>{"abcd", "efgh", "ij", "xy"}));
  LineSplitter unterminated(4);
  EXPECT_EQ(FeedAll(unterminated, {"abcdefghij"}, false),
            (std::vector<std::string>{"abcd", "efgh"}));
}

}  // namespace
}  // namespace vigil
