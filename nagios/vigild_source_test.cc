#include "nagios/vigild_source.h"

#include "gtest/gtest.h"
#include "nagios/vigild_client.h"

namespace vigil::nagios {
namespace {

CheckConfig Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "check_vigil");
  ParsedCommandLine parsed = ParseCommandLine(args);
  EXPECT_TRUE(parsed.config.has_value()) << parsed.output;
  return parsed.config.value_or(CheckConfig{});
}

std::string Selectors(std::vector<std::string> args) {
  return json::Serialize(SelectorsFor(Parse(std::move(args))));
}

TEST(SelectorsForTest, IndexedFiltersBecomeOneSelector) {
  EXPECT_EQ(Selectors({"-C", "sshd"}), R"([{"command":"sshd"}])");
  EXPECT_EQ(Selectors({"-C", "sshd", "-u", "0", "-p", "1"}),
            R"([{"command":"sshd","uid":0,"ppid":1}])");
  EXPECT_EQ(Selectors({"-a", "x y", "--ereg-argument-array=^a|b"}),
            R"([{"args":"x y","ereg":"^a|b"}])");
}

TEST(SelectorsForTest, UnindexedFiltersSelectTheWholeTable) {
  EXPECT_EQ(Selectors({"-s", "Z"}), "[{}]");
  EXPECT_EQ(Selectors({"-w", "10"}), "[{}]");
  EXPECT_EQ(Selectors({"-C", "x", "-vvv"}), "[{}]");
}

TEST(SelectorsForTest, KernelThreadQuirkNeedsPidOneAndKthreadd) {
  EXPECT_EQ(Selectors({"-k", "-C", "x"}),
            R"([{"command":"x"},{"pid":1},{"command":"kthreadd"}])");
  EXPECT_EQ(Selectors({"-k", "-C", "x", "-vv"}), R"([{},{"pid":1},{"command":"kthreadd"}])");
}

TEST(VigilSocketOptionTest, TakenOutBeforeDoubleDashOnly) {
  std::vector<std::string> args = {"check_procs", "-C", "x", "--vigil-socket=/a",
                                   "--vigil-socket", "/b", "--", "--vigil-socket=/c"};
  EXPECT_EQ(TakeVigilSocketOption(args), "/b");
  EXPECT_EQ(args, (std::vector<std::string>{"check_procs", "-C", "x", "--",
                                            "--vigil-socket=/c"}));
  std::vector<std::string> none = {"check_procs", "--vig"};
  EXPECT_EQ(TakeVigilSocketOption(none), std::nullopt);
  EXPECT_EQ(none.size(), 2u);
}

TEST(VigildProcessSourceTest, NobodyListeningMeansNoSource) {
  CheckConfig config;
  EXPECT_EQ(VigildProcessSource::Connect("/nonexistent/vigild.sock", config), nullptr);
  EXPECT_EQ(VigildProcessSource::Connect("", config), nullptr);
}

}  // namespace
}  // namespace vigil::nagios
