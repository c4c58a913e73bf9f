#include "nagios/ps_output.h"

#include "gtest/gtest.h"

namespace vigil::nagios {
namespace {

KernelProcess Java() {
  KernelProcess p;
  p.pid = 4332;
  p.ppid = 1;
  p.pgrp = p.session = 4332;
  p.threads = 40;
  p.state = 'S';
  p.vsz_kib = 8996708;
  p.rss_kib = 199340;
  p.cpu_ticks = 383;           // 3.83 s of CPU
  p.start_ticks = 100000;      // 1000 s after boot
  p.comm = "java";
  p.cmdline = std::string("bazel(main)\0-jar\0A-server.jar\0", 30);
  return p;
}

TEST(PsOutputTest, OverflowingColumnsShiftLikeProcps) {
  // 112 s of life: boot_ticks = (1000 + 112) * 100.
  const PsClock clock{111200, 100};
  EXPECT_EQ(RenderPsOutput({Java()}, clock, 5),
            "STAT   UID   PID  PPID    VSZ   RSS %CPU     ELAPSED COMMAND  "
            "       COMMAND\n"
            "Ssl      0  4332     1 8996708 199340 3.4      01:52 java       "
            "     bazel(main) -jar A-server.jar\n");
}

TEST(PsOutputTest, StatFlagsInProcpsOrder) {
  KernelProcess p = Java();
  p.nice = -5;
  p.locked_kib = 4;
  p.tpgid = p.pgrp;
  EXPECT_EQ(PsStatText(p), "S<Lsl+");
  p.nice = 19;
  p.session = 1;
  p.threads = 1;
  p.locked_kib = 0;
  p.tpgid = -1;
  EXPECT_EQ(PsStatText(p), "SN");
}

TEST(PsOutputTest, PcpuIsLifetimeAverageTruncatedToPerMille) {
  KernelProcess p = Java();
  p.cpu_ticks = 250;
  EXPECT_EQ(PsPcpuText(p, PsClock{100250, 100}), "100");   // 2.5 s of 2.5 s
  EXPECT_EQ(PsPcpuText(p, PsClock{100500, 100}), "50.0");
  EXPECT_EQ(PsPcpuText(p, PsClock{1000000, 100}), "0.0");  // 0.027 %
  EXPECT_EQ(PsPcpuText(p, PsClock{100000, 100}), "0.0");   // no time yet
}

TEST(PsOutputTest, EtimeFormats) {
  KernelProcess p = Java();
  EXPECT_EQ(PsEtimeText(p, PsClock{100000 + 5 * 100, 100}), "00:05");
  EXPECT_EQ(PsEtimeText(p, PsClock{100000 + 3723 * 100, 100}), "01:02:03");
  EXPECT_EQ(PsEtimeText(p, PsClock{100000 + 90061 * 100 + 99, 100}),
            "1-01:01:01");
}

TEST(PsOutputTest, ArgsFallbacksAndEscapes) {
  KernelProcess p = Java();
  p.cmdline.clear();
  EXPECT_EQ(PsArgsText(p), "[java]");
  p.state = 'Z';
  EXPECT_EQ(PsArgsText(p), "[java] <defunct>");
  p.cmdline = std::string("x\ty\xc3\xa9z\x7f\0" "31\0\0", 12);
  EXPECT_EQ(PsArgsText(p), "x.y??z. 31");
}

TEST(PsOutputTest, RenderedRowsParseBack) {
  KernelProcess tmux = Java();
  tmux.comm = "tmux: server";
  tmux.cmdline = std::string("tmux\0new\0", 9);
  std::vector<PsRow> rows = ParsePsOutput(RenderPsOutput({tmux}, {111200, 100}, 5));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].record.prog, "tmux:");
  EXPECT_EQ(rows[0].record.args, "server    tmux new");
  EXPECT_EQ(rows[0].record.etime, "01:52");
  EXPECT_EQ(rows[0].record.pcpu, 3.4f);
}

}  // namespace
}  // namespace vigil::nagios
