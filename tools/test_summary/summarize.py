#!/usr/bin/env python3
"""Summarizes a `bazel test` run: passed on the host, passed in the VM, skipped.

Reads every test.xml under a bazel-testlogs directory (gtest XML, or the XML
Bazel writes for tests that produce none). Targets whose name ends in `_vm`
are VM runs (vm/vm_test.bzl); `//pkg:foo_vm` is the VM twin of `//pkg:foo`.

Exits 1 when any test case failed, when a test case was skipped both on the
host and in its VM twin (skipped everywhere = untested), when a test case
skipped in the VM has no passing host run, or when a test case skipped on the
host has no VM run and no reasoned entry in the allowlist. The last line is
always `vigil: N passed, M failed, K skipped`.

Usage: summarize.py [--allowlist FILE] [--quiet] [TESTLOGS_DIR]
"""

import argparse
import dataclasses
import fnmatch
import os
import re
import sys
import xml.etree.ElementTree as ET

DEFAULT_ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "allowed_skips.txt")
VM_SUFFIX = "_vm"
# Bazel writes per-shard / per-run XML in these subdirectories of a target.
SUBRUN_DIR = re.compile(r"^(shard|run)_\d+_of_\d+$")
WHOLE_TARGET = "(whole target)"


@dataclasses.dataclass
class CaseResult:
    label: str  # //pkg:target
    case: str  # Suite.Name, or WHOLE_TARGET for tests without their own XML
    outcome: str  # "passed" | "failed" | "skipped"
    reason: str = ""  # skip reason or failure message

    @property
    def in_vm(self):
        return self.label.endswith(VM_SUFFIX)

    @property
    def host_label(self):
        return self.label[: -len(VM_SUFFIX)] if self.in_vm else self.label


@dataclasses.dataclass
class AllowedSkip:
    label_pattern: str
    case_pattern: str
    reason: str

    def matches(self, result):
        return fnmatch.fnmatchcase(result.label, self.label_pattern) and fnmatch.fnmatchcase(
            result.case, self.case_pattern
        )


def one_line(text):
    return " ".join(text.split())


def skip_reason(message):
    # gtest prefixes the message with "file:line\n"; the file is not the reason.
    first, _, rest = message.partition("\n")
    if rest and re.fullmatch(r"\S+:\d+", first.strip()):
        message = rest
    return one_line(message) or "(no reason given)"


def label_for(testlogs, xml_path):
    parts = os.path.relpath(os.path.dirname(xml_path), testlogs).split(os.sep)
    if SUBRUN_DIR.match(parts[-1]):
        parts = parts[:-1]
    return "//%s:%s" % ("/".join(parts[:-1]), parts[-1])


def find_test_xmls(testlogs):
    for root, dirs, files in os.walk(testlogs, followlinks=True):
        # Earlier attempts of flaky tests and undeclared outputs are not results.
        dirs[:] = sorted(d for d in dirs if d not in ("test_attempts", "test.outputs"))
        if "test.xml" in files:
            yield os.path.join(root, "test.xml")


def parse_case(label, testcase):
    suite = testcase.get("classname")
    name = testcase.get("name", "?")
    # Bazel's own XML names the single test case after the target's path.
    case = "%s.%s" % (suite, name) if suite else WHOLE_TARGET
    for tag in ("failure", "error"):
        element = testcase.find(tag)
        if element is not None:
            return CaseResult(label, case, "failed", one_line(element.get("message") or element.text or tag))
    skipped = testcase.find("skipped")
    if skipped is not None:
        return CaseResult(label, case, "skipped", skip_reason(skipped.get("message") or skipped.text or ""))
    if testcase.get("result") == "skipped":
        return CaseResult(label, case, "skipped", "(no reason given)")
    if testcase.get("status") == "notrun":
        return CaseResult(label, case, "skipped", "disabled (not run)")
    return CaseResult(label, case, "passed")


def parse_xml(label, xml_path):
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, OSError) as error:
        return [CaseResult(label, WHOLE_TARGET, "failed", "unreadable %s: %s" % (xml_path, error))]
    cases = [parse_case(label, testcase) for testcase in root.iter("testcase")]
    if not cases:
        return [CaseResult(label, WHOLE_TARGET, "failed", "%s has no test cases" % xml_path)]
    return cases


def load_results(testlogs):
    results = []
    for xml_path in find_test_xmls(testlogs):
        results.extend(parse_xml(label_for(testlogs, xml_path), xml_path))
    return results


def load_allowlist(path):
    """Lines: `LABEL CASE REASON...`; globs allowed in LABEL and CASE."""
    entries, errors = [], []
    if not os.path.exists(path):
        return entries, errors
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split(None, 2)
            if len(fields) < 3 or not fields[0].startswith("//"):
                errors.append(
                    "%s:%d: expected `//pkg:target Suite.Case reason why it cannot run anywhere`, got %r"
                    % (path, number, line)
                )
                continue
            entries.append(AllowedSkip(*fields))
    return entries, errors


def find_problems(results, allowlist):
    by_key = {(r.label, r.case): r for r in results}
    problems = []
    for r in results:
        if r.outcome != "skipped":
            continue
        if r.in_vm:
            host = by_key.get((r.host_label, r.case))
            if host is None:
                problems.append(
                    "SKIPPED IN THE VM with no host run: %s %s: %s" % (r.label, r.case, r.reason)
                )
            elif host.outcome == "skipped":
                problems.append(
                    "SKIPPED EVERYWHERE: %s and %s both skipped %s (host: %s; VM: %s)"
                    % (host.label, r.label, r.case, host.reason, r.reason)
                )
            continue
        twin_label = r.label + VM_SUFFIX
        twin = by_key.get((twin_label, r.case))
        if twin is not None:
            continue  # reported from the VM side if it skipped there too
        if any(entry.matches(r) for entry in allowlist):
            continue
        problems.append(
            "SKIPPED ON THE HOST with no VM run (%s did not run it) and not in the allowlist: %s %s: %s"
            % (twin_label, r.label, r.case, r.reason)
        )
    return problems


def print_summary(results, problems, allowlist, quiet, out):
    by_key = {(r.label, r.case): r for r in results}

    def section(title, rows):
        print("== %s (%d)" % (title, len(rows)), file=out)
        if not quiet:
            for row in rows:
                print("  " + row, file=out)

    ordered = sorted(results, key=lambda r: (r.host_label, r.case, r.in_vm))
    section(
        "passed on the host",
        ["%s %s" % (r.label, r.case) for r in ordered if r.outcome == "passed" and not r.in_vm],
    )
    section(
        "passed in the VM",
        ["%s %s" % (r.label, r.case) for r in ordered if r.outcome == "passed" and r.in_vm],
    )
    skipped_rows = []
    for r in ordered:
        if r.outcome != "skipped":
            continue
        other = by_key.get((r.host_label, r.case) if r.in_vm else (r.label + VM_SUFFIX, r.case))
        if other is not None:
            where = "%s in %s" % (other.outcome, other.label)
        else:
            allowed = [e for e in allowlist if e.matches(r)]
            where = "allowlisted: %s" % allowed[0].reason if allowed else "no twin run"
        skipped_rows.append("%s %s: %s [%s]" % (r.label, r.case, r.reason, where))
    section("skipped, with reasons", skipped_rows)
    # Failures are always listed in full.
    failed = [r for r in ordered if r.outcome == "failed"]
    print("== failed (%d)" % len(failed), file=out)
    for r in failed:
        print("  %s %s: %s" % (r.label, r.case, r.reason), file=out)
    for problem in problems:
        print("vigil: " + problem, file=out)
    counts = {outcome: sum(r.outcome == outcome for r in results) for outcome in ("passed", "failed", "skipped")}
    print("vigil: %(passed)d passed, %(failed)d failed, %(skipped)d skipped" % counts, file=out)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("testlogs", nargs="?", default="bazel-testlogs", help="the bazel-testlogs directory")
    parser.add_argument("--allowlist", default=DEFAULT_ALLOWLIST, help="reasoned host-only skips")
    parser.add_argument("--quiet", action="store_true", help="print counts per section, not every test case")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.testlogs):
        print("vigil: %s is not a directory; run `bazel test` first" % args.testlogs, file=sys.stderr)
        print("vigil: 0 passed, 0 failed, 0 skipped")
        return 2
    allowlist, allowlist_errors = load_allowlist(args.allowlist)
    results = load_results(args.testlogs)
    problems = allowlist_errors + find_problems(results, allowlist)
    if not results:
        problems.append("no test.xml under %s" % args.testlogs)
    print_summary(results, problems, allowlist, args.quiet, sys.stdout)
    failed = any(r.outcome == "failed" for r in results)
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
