#!/usr/bin/env python3
"""Tests for summarize.py on bazel-testlogs trees built from fixture XML."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARIZE = os.path.join(HERE, "summarize.py")

# What gtest 1.12 writes (trimmed): one skipped and one passing case.
GTEST_HOST_SKIP = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="0" disabled="0" errors="0" time="0" name="AllTests">
  <testsuite name="Cgroup" tests="2" failures="0" disabled="0" skipped="1" errors="0" time="0">
    <testcase name="MemoryMax" file="x_test.cc" line="7" status="run" result="skipped" time="0" classname="Cgroup">
      <skipped message="x_test.cc:8&#x0A;needs memory.max in cgroup v2"><![CDATA[x_test.cc:8
needs memory.max in cgroup v2]]></skipped>
    </testcase>
    <testcase name="Procs" file="x_test.cc" line="20" status="run" result="completed" time="0" classname="Cgroup" />
  </testsuite>
</testsuites>
"""
GTEST_ALL_PASS = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="0" disabled="0" errors="0" time="0" name="AllTests">
  <testsuite name="Cgroup" tests="2" failures="0" disabled="0" skipped="0" errors="0" time="0">
    <testcase name="MemoryMax" status="run" result="completed" time="0" classname="Cgroup" />
    <testcase name="Procs" status="run" result="completed" time="0" classname="Cgroup" />
  </testsuite>
</testsuites>
"""
GTEST_VM_SKIP = GTEST_HOST_SKIP.replace("needs memory.max in cgroup v2", "memory controller not enabled")
GTEST_FAILURE_AND_DISABLED = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="1" disabled="1" errors="0" time="0" name="AllTests">
  <testsuite name="Loop" tests="2" failures="1" disabled="1" errors="0" time="0">
    <testcase name="Wakes" status="run" result="completed" time="0" classname="Loop">
      <failure message="x.cc:3&#x0A;Expected equality" type=""><![CDATA[x.cc:3
Expected equality]]></failure>
    </testcase>
    <testcase name="DISABLED_Old" status="notrun" result="suppressed" time="0" classname="Loop" />
  </testsuite>
</testsuites>
"""
# What Bazel writes for a test that produced no XML of its own.
BAZEL_PASS = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="vm/harness_test" tests="1" failures="0" errors="0">
    <testcase name="vm/harness_test" status="run" duration="7" time="7"></testcase>
      <system-out>ok</system-out>
    </testsuite>
</testsuites>
"""
BAZEL_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="pkg/crash_test" tests="1" failures="0" errors="1">
    <testcase name="pkg/crash_test" status="run" duration="1" time="1"><error message="exited with error code 134"></error></testcase>
      <system-out>boom</system-out>
    </testsuite>
</testsuites>
"""


class SummarizeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.testlogs = os.path.join(self.tmp.name, "testlogs")
        self.allowlist = os.path.join(self.tmp.name, "allowed_skips.txt")
        os.makedirs(self.testlogs)

    def tearDown(self):
        self.tmp.cleanup()

    def add(self, target_dir, xml):
        directory = os.path.join(self.testlogs, target_dir)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "test.xml"), "w", encoding="utf-8") as f:
            f.write(xml)

    def allow(self, text):
        with open(self.allowlist, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))

    def summarize(self):
        run = subprocess.run(
            [sys.executable, SUMMARIZE, "--allowlist", self.allowlist, self.testlogs],
            capture_output=True,
            text=True,
            check=False,
        )
        return run.returncode, run.stdout

    def assertLastLine(self, output, expected):
        self.assertEqual(output.rstrip("\n").split("\n")[-1], expected, output)

    def test_host_skip_that_passes_in_the_vm_is_fine(self):
        self.add("pkg/cgroup_test", GTEST_HOST_SKIP)
        self.add("pkg/cgroup_test_vm", GTEST_ALL_PASS)
        status, out = self.summarize()
        self.assertEqual(status, 0, out)
        self.assertIn("== passed on the host (1)\n  //pkg:cgroup_test Cgroup.Procs\n", out)
        self.assertIn("== passed in the VM (2)\n  //pkg:cgroup_test_vm Cgroup.MemoryMax\n", out)
        self.assertIn(
            "//pkg:cgroup_test Cgroup.MemoryMax: needs memory.max in cgroup v2 [passed in //pkg:cgroup_test_vm]",
            out,
        )
        self.assertLastLine(out, "vigil: 3 passed, 0 failed, 1 skipped")

    def test_skipped_on_host_and_in_vm_fails(self):
        self.add("pkg/cgroup_test", GTEST_HOST_SKIP)
        self.add("pkg/cgroup_test_vm", GTEST_VM_SKIP)
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn(
            "vigil: SKIPPED EVERYWHERE: //pkg:cgroup_test and //pkg:cgroup_test_vm both skipped "
            "Cgroup.MemoryMax (host: needs memory.max in cgroup v2; VM: memory controller not enabled)",
            out,
        )
        self.assertLastLine(out, "vigil: 2 passed, 0 failed, 2 skipped")

    def test_an_allowlisted_skip_is_not_allowed_when_skipped_everywhere(self):
        self.add("pkg/cgroup_test", GTEST_HOST_SKIP)
        self.add("pkg/cgroup_test_vm", GTEST_VM_SKIP)
        self.allow("//pkg:cgroup_test Cgroup.* needs a real disk\n")
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn("SKIPPED EVERYWHERE", out)

    def test_host_skip_without_vm_twin_needs_an_allowlist_entry(self):
        self.add("pkg/cgroup_test", GTEST_HOST_SKIP)
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn(
            "SKIPPED ON THE HOST with no VM run (//pkg:cgroup_test_vm did not run it) and not in the "
            "allowlist: //pkg:cgroup_test Cgroup.MemoryMax: needs memory.max in cgroup v2",
            out,
        )
        self.allow(
            """\
            # comment
            //pkg:cgroup_* Cgroup.Memory*   the memory suite needs hardware the VM lacks
            """
        )
        status, out = self.summarize()
        self.assertEqual(status, 0, out)
        self.assertIn("[allowlisted: the memory suite needs hardware the VM lacks]", out)

    def test_allowlist_entry_without_reason_is_an_error(self):
        self.add("pkg/cgroup_test", GTEST_HOST_SKIP)
        self.allow("//pkg:cgroup_test Cgroup.MemoryMax\n")
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn("allowed_skips.txt:1: expected", out)

    def test_vm_skip_needs_a_passing_host_run(self):
        self.add("pkg/cgroup_test", GTEST_ALL_PASS)
        self.add("pkg/cgroup_test_vm", GTEST_VM_SKIP)
        self.assertEqual(self.summarize()[0], 0)
        self.add("pkg/only_vm", GTEST_VM_SKIP)  # not a twin: name lacks _vm
        self.add("other/lonely_vm", GTEST_VM_SKIP)
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn("SKIPPED IN THE VM with no host run: //other:lonely_vm Cgroup.MemoryMax", out)

    def test_failures_disabled_tests_and_bazel_generated_xml(self):
        self.add("pkg/loop_test", GTEST_FAILURE_AND_DISABLED)
        self.add("pkg/loop_test_vm", GTEST_FAILURE_AND_DISABLED.replace('status="notrun" result="suppressed"', 'status="run" result="completed"'))
        self.add("vm/harness_test", BAZEL_PASS)
        self.add("pkg/crash_test", BAZEL_ERROR)
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn("//vm:harness_test (whole target)", out)
        self.assertIn("== failed (3)\n  //pkg:crash_test (whole target): exited with error code 134\n", out)
        self.assertIn("  //pkg:loop_test Loop.Wakes: x.cc:3 Expected equality\n", out)
        self.assertIn("//pkg:loop_test Loop.DISABLED_Old: disabled (not run) [passed in //pkg:loop_test_vm]", out)
        self.assertLastLine(out, "vigil: 2 passed, 3 failed, 1 skipped")

    def test_shards_unreadable_xml_and_flaky_attempts(self):
        self.add("deep/pkg/big_test/shard_1_of_2", GTEST_ALL_PASS)
        self.add("deep/pkg/big_test/shard_2_of_2", GTEST_ALL_PASS.replace("Cgroup", "Other"))
        self.add("deep/pkg/big_test/test_attempts/attempt_1", BAZEL_ERROR)
        self.add("pkg/cut_test", GTEST_ALL_PASS[:200])
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn("//deep/pkg:big_test Cgroup.Procs", out)
        self.assertIn("//deep/pkg:big_test Other.Procs", out)
        self.assertIn("  //pkg:cut_test (whole target): unreadable", out)
        self.assertLastLine(out, "vigil: 4 passed, 1 failed, 0 skipped")

    def test_empty_testlogs_fails(self):
        status, out = self.summarize()
        self.assertEqual(status, 1, out)
        self.assertIn("no test.xml under", out)
        self.assertLastLine(out, "vigil: 0 passed, 0 failed, 0 skipped")

    def test_quiet_prints_counts_only(self):
        self.add("pkg/cgroup_test", GTEST_ALL_PASS)
        run = subprocess.run(
            [sys.executable, SUMMARIZE, "--quiet", "--allowlist", self.allowlist, self.testlogs],
            capture_output=True, text=True, check=False,
        )
        self.assertEqual(run.returncode, 0)
        self.assertEqual(
            run.stdout,
            "== passed on the host (2)\n== passed in the VM (0)\n== skipped, with reasons (0)\n"
            "== failed (0)\nvigil: 2 passed, 0 failed, 0 skipped\n",
        )


if __name__ == "__main__":
    unittest.main()
