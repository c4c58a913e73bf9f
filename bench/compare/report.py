#!/usr/bin/env python3
"""Turns compare.py's results JSON into a Markdown report and PNG plots.

  report.py RESULTS_JSON --markdown bench/RESULTS.md --plots bench/plots

Plots need matplotlib (Debian: python3-matplotlib, installed by
bench/compare/run.sh); without it the report says so and has no plots.
"""

import argparse
import json
import os
import re

MISSING = "—"


def percentile(samples, p):
    """Nearest rank, as bench/report.cc."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def fmt_ms(us, digits=2):
    return MISSING if us is None else f"{us / 1000:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return MISSING
    return f"{a / b:,.0f}×" if a / b >= 100 else f"{a / b:.1f}×"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bench_rows(results, name):
    """A bench's printed table: first column (label) -> the other columns,
    split where two or more spaces separate them."""
    bench = results.get("benches", {}).get(name)
    if not bench:
        return {}
    rows = {}
    for line in bench["output"].splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) >= 2:
            rows.setdefault(parts[0], parts[1:])
    return rows


def cell(rows, label, index, suffix=""):
    values = rows.get(label)
    if not values or index >= len(values):
        return MISSING
    return values[index] + suffix


# ---------------------------------------------------------------- sections

def header(r):
    m = r["machine"]
    t = r.get("timing", {})
    out = ["# vigil benchmarks: side by side with monit, supervisord and check_procs\n",
           "Written by `bench/compare/run.sh` (the one command; see bench/README.md) "
           f"from a **{r['mode']}** run. Rerun it on your machine: every figure below "
           "comes from that one run.\n",
           table(["machine", ""], [
               ["date", m["date"]],
               ["OS, kernel", f"{m['os']}, {m['kernel']}"],
               ["CPU", f"{m['cpus']} × {m['cpu_model']}"],
               ["memory", f"{m['mem_gib']} GiB"],
               ["load average (1, 5, 15 min) at start → end",
                f"{m['loadavg']} → {m.get('loadavg_end', MISSING)}"],
               ["peers", f"monit {m['monit']}, supervisord {m['supervisord']}, "
                         f"check_procs (monitoring-plugins) {m['check_procs']}"],
               ["run time", f"{t.get('total', 0) / 60:.1f} min (" + ", ".join(
                   f"{k} {v:.0f} s" for k, v in t.items() if k != "total") + ")"],
           ])]
    for rerun in r.get("reruns", []):
        out.append(f"Re-measured later in the same report: {rerun['what']} on {rerun['date']} "
                   f"(load {rerun['loadavg']} → {rerun.get('loadavg_end', MISSING)}); the rows "
                   "it measured replace the first run's.\n")
    if r.get("skipped"):
        out.append("Skipped: " + "; ".join(r["skipped"]) + "\n")
    out.append("A busy host inflates tails (p90 and up) and wall times; wakeup counts, "
               "CPU per event and memory are the stable figures.\n")
    return "\n".join(out)


def idle_section(r):
    rows = []
    entries = r.get("idle", [])
    for e in entries:
        vigil = next((v for v in entries if v["peer"] == "vigild" and v["n"] == e["n"]), None)
        rows.append([e["label"], e["n"], f"{e['window_s']:.0f} s", e["wakeups"],
                     f"{e['wakeups_per_min']:.1f}", f"{e['cpu_ms']:.2f}",
                     f"{e['memory']['VmRSS']:,}",
                     MISSING if e["start_s"] is None else f"{e['start_s']:.2f} s",
                     "" if e["peer"] == "vigild" or not vigil else
                     f"{e['wakeups']} vs {vigil['wakeups']}"])
    return ("## Idle: wakeups and CPU with N sleeping watched processes\n\n"
            "Context switches of all the supervisor's threads (`/proc/<pid>/task/*/status`: "
            "every wakeup is one) and their on-CPU time (`schedstat`) over the window, after "
            "all N processes run and a settling pause. Each supervisor in turn, alone, in its "
            "own temp dir, foreground. vigild's target is 0.\n\n"
            + table(["supervisor", "N", "window", "wakeups", "per min", "CPU (ms)",
                     "RSS (KiB)", "start, all N running", "vs vigild"], rows)
            + "\nmonit's processes are started by the bench before monit (monit then finds "
              "them by pidfile), so its start time is its first check only.\n")


def detection_section(r):
    entries = r.get("detection", [])
    vigil = next((d for d in entries if d["peer"] == "vigild"), None)
    vigil_p50 = percentile(vigil["samples_us"], 50) if vigil else None
    rows = []
    for d in entries:
        s = d["samples_us"]
        notice = d.get("notice_us") or []
        rows.append([d["label"], len(s),
                     fmt_ms(percentile(notice, 50), 2) if notice else MISSING,
                     fmt_ms(percentile(s, 50)), fmt_ms(percentile(s, 90)),
                     fmt_ms(percentile(s, 99)), fmt_ms(max(s) if s else None),
                     ratio(percentile(s, 50), vigil_p50), d["method"]])
    exit_rows = bench_rows(r, "exit_latency")
    notes = []
    for d in entries:
        if d.get("notice_how"):
            notes.append(f"- {d['label']}: notice = {d['notice_how']}.")
        if d.get("missed"):
            notes.append(f"- {d['label']}: {d['missed']} kills not restarted in time.")
    return ("## Detection: SIGKILL of a watched process → noticed → restarted\n\n"
            "The watched process is `bench/compare/marker.cc`: its first act is to append "
            "its pid and CLOCK_MONOTONIC to a stamp file, so *restarted* is timed by the new "
            "process itself, the same way for every supervisor (kill once the old one "
            "sleeps → the successor's stamp). vigild: restart always, backoff 1 ms. "
            "supervisord: autorestart, startsecs 0. monit: the start program runs the "
            "marker detached; since one kill per cycle would take hours, kills land at random "
            "moments across several cycles, and a process is killed again only 35 s after "
            "its restart (monit verifies a start for up to 30 s; a kill inside that wait costs "
            "a whole timeout, the bench's doing, not monit's). The floor is the least anything can take: one C "
            "process polling a pidfd, reaping and fork+exec'ing.\n\n"
            + table(["supervisor", "kills", "noticed p50 (ms)", "restarted p50 (ms)",
                     "p90", "p99", "max", "restart p50 vs vigild", "how"], rows)
            + "\n" + "\n".join(notes) + "\n\n"
            "vigild's exit event, measured precisely in C by `bench/exit_latency` "
            f"({cell(exit_rows, 'vigild exit event', 0)} kills): p50 "
            f"{cell(exit_rows, 'vigild exit event', 1)} µs, p99 "
            f"{cell(exit_rows, 'vigild exit event', 3)} µs; a bare pidfd waiter: p50 "
            f"{cell(exit_rows, 'bare pidfd waiter (baseline)', 1)} µs; vigild CPU per "
            f"kill cycle {cell(exit_rows, 'CPU on-cpu', 0)}.\n")


def watches_section(r):
    w = bench_rows(r, "watch_latency")
    m = bench_rows(r, "maze_bench")
    rows = []
    for label in ("memory level up", "tasks level up", "cpu_time budget",
                  "PSI cpu some 100ms per 2s", "memory.high", "memory.max oom_kill event",
                  "pids.max fork refused"):
        values = w.get(label)
        if values and len(values) >= 7:
            rows.append([f"watch: {label}", values[0], fmt_ms(float(values[1])),
                         fmt_ms(float(values[3])), fmt_ms(float(values[4])),
                         f"{values[6]} µs"])
        elif values:
            rows.append([f"watch: {label}", MISSING, " ".join(values), "", "", ""])
    for label in ("soft signal past the limit", "hard signal past the limit"):
        values = m.get(label)
        if values and len(values) >= 5:
            rows.append([f"runaway (MAZE): {label}", values[0], fmt_ms(float(values[1])),
                         fmt_ms(float(values[3])), fmt_ms(float(values[4])), MISSING])
    maze_cost = [[label.split(":")[0], cell(m, f"{label}: vigild context switches", 0),
                  cell(m, f"{label}: vigild on-cpu (us)", 0),
                  cell(m, f"{label}: budget, soft limits of CPU", 0)]
                 for label in ("sleeping", "busy-healthy")]
    return ("## Memory, tasks, runaway: crossing → action\n\n"
            "From `bench/watch_latency` (resource watches: crossing a level → the unit's "
            "handler got SIGUSR1, CLOCK_REALTIME both sides) and `bench/maze_bench` (CPU "
            "past a runaway limit when the signal arrived, in the spinner's own clock; the "
            "MAZE kernel patch checks every 100 ms). Rows the hybrid host cannot run say so "
            "(they run in the VM harness).\n\n"
            + table(["what", "n", "p50 (ms)", "p99 (ms)", "max (ms)", "vigild CPU/event"],
                    rows)
            + "\nMAZE cost with watched units (vigild, whole window):\n\n"
            + table(["units", "context switches", "on-CPU (µs)", "budget (soft limits of CPU)"],
                    maze_cost))


def fd_section(r):
    f = bench_rows(r, "fd_watch_bench")
    rows = [[label, cell(f, label, 0), cell(f, label, 1)] for label in (
        "no watch (CPU ns/op)", "vigil fd watch (CPU ns/op)", "vigil fd watch overhead (CPU)",
        "no watch (wall ns/op)", "vigil fd watch (wall ns/op)",
        "vigil fd watch overhead (wall)", "audit, one rule (RFC, Odroid U3+)",
        "rlimit-events patch (RFC)", "target (issue 6)")]
    return ("## open() under an fd watch (the seed's experiment)\n\n"
            "`bench/fd_watch_bench`: a process open()s and close()s a file in a loop, with no "
            "watch and with a vigil fd watch on it (runs interleaved, medians); hot = the same "
            "file, cold = many files after dropping dentries and inodes. The RFC's audit and "
            "patch figures (measured on its Odroid U3+) beside them.\n\n"
            + table(["", "hot", "cold"], rows)
            + f"\nvigild: {cell(f, 'vigild wakeups per s of watched CPU', 0)} wakeups and "
              f"{cell(f, 'vigild CPU per s of watched CPU (ms)', 0)} ms CPU per second of the "
              "watched process's CPU.\n")


def check_section(r):
    c = bench_rows(r, "check_vigil_bench")
    rows = []
    for n in ("20", "2000"):
        procs = cell(c, f"check_procs @{n}", 0)
        for name in ("check_procs", "check_vigil /proc", "check_vigil vigild"):
            label = f"{name} @{n}"
            wall = cell(c, label, 0)
            try:
                speedup = ratio(float(procs), float(wall)) if name != "check_procs" else ""
            except ValueError:
                speedup = MISSING
            rows.append([name, n, wall, cell(c, label, 1), cell(c, label, 2), cell(c, label, 3),
                         speedup])
    return ("## check_vigil vs check_procs, per call\n\n"
            "`bench/check_vigil_bench`: `-C sleep` over 5 sleep processes with 20 and with "
            "2,000 other processes on the host; check_vigil reading /proc itself, and "
            "answered from vigild's process table. Times in ms.\n\n"
            + table(["plugin", "other processes", "wall p50", "wall p99", "CPU/call",
                     "vigild CPU/answer", "check_procs / this (wall p50)"], rows))


def storm_section(r):
    s = r.get("storm")
    if not s:
        return "## Storm\n\nnot run\n"
    none_lost = (s["lost"] == 0 and s["overflow_lost"] == 0 and s["pids_match"]
                 and s["runs_stamped"] == s["expected"])
    row = ["vigild storm", f"{s['expected']:,}", f"{s['runs_stamped']:,}",
           f"{s['exit_events']:,}", s["overflow_lost"], "yes" if s["pids_match"] else "no",
           "yes" if none_lost else "no", f"{s['seconds']:.1f} s",
           f"{s.get('exits_per_s', 0):,.0f}", f"{s['cpu_us_per_exit']:.0f} µs"]
    return ("## Storm: 100,000 short-lived processes, every exit counted\n\n"
            f"{s['units']} units of `marker exit` (stamp a line, exit 0), restart always with "
            f"a 1 ms backoff, each allowed exactly {s['runs_per_unit']:,} starts by its start "
            "limit, so the run ends by itself with every unit `failed`. Runs are counted from "
            "the stamp file (each process wrote its pid), exits from vigild's control-socket "
            "event stream (a subscriber connected before the units existed), and the two "
            "pid lists compared. CPU is vigild's own (all threads, schedstat) over the storm, "
            "divided by the exit events; each cycle is exit, reap, backoff timer, clone3 "
            "into the cgroup, and ~5 events published.\n\n"
            + table(["", "expected runs", "runs (stamps)", "exit events", "overflow lost",
                     "pids match", "none lost", "duration", "exits/s", "vigild CPU/exit"],
                    [row])
            + f"\nEvents published: " + ", ".join(f"{k} {v:,}" for k, v in
                                                  sorted(s["event_kinds"].items())) + ".\n")


def scale_section(r):
    s = r.get("scale")
    if not s:
        return "## Scale\n\nnot run\n"
    rss = bench_rows(r, "rss_units")
    rows = [
        ["units asked / run / running", f"{s['wanted']:,} / {s['units']:,} / {s['started']:,}"],
        ["vigild ready (exec → socket answers)", f"{s['vigild_ready_s'] * 1000:.0f} ms"],
        ["reload → all units' processes running (last stamp)", f"{s['all_running_s']:.2f} s"],
        ["vigild CPU for that (per unit)", f"{s['start_cpu_ms']:.0f} ms "
                                            f"({s['start_cpu_ms'] / max(1, s['units']):.2f} ms)"],
        ["VmRSS with no units → with all", f"{s['memory_empty']['VmRSS']:,} → "
                                           f"{s['memory']['VmRSS']:,} KiB"],
        ["VmRSS per unit", f"{s['rss_per_unit_kib']:.2f} KiB"],
        ["VmHWM (peak)", f"{s['memory']['VmHWM']:,} KiB"],
        ["open fds (per unit)", f"{s['memory']['fds']:,} ({s['fds_per_unit']:.1f})"],
        [f"idle: wakeups / CPU in {s['idle_s']} s", f"{s['idle_wakeups']} / "
                                                     f"{s['idle_cpu_ms']:.2f} ms"],
        ["stop of everything (SIGTERM → vigild exited)", f"{s['stop_s']:.2f} s"],
    ]
    extrapolated = ""
    if s["units"] < s["wanted"]:
        extra_rss = s["memory_empty"]["VmRSS"] + s["rss_per_unit_kib"] * s["wanted"]
        extra_fds = s["memory_empty"]["fds"] + round(s["fds_per_unit"] * s["wanted"])
        extrapolated = (f"\n**{s['wanted']:,} units did not fit on this host**: {s['note']}. "
                        f"The run used {s['units']:,}, the most that fit beside vigild's own "
                        f"fds and the few a spawn holds for a moment. Linear extrapolation of "
                        f"the measured per-unit cost to {s['wanted']:,} units: VmRSS ≈ "
                        f"{extra_rss / 1024:.0f} MiB, ≈ {extra_fds:,} fds. On a host where root "
                        "has CAP_SYS_RESOURCE the bench raises the hard limit and runs them "
                        "all.\n")
    return ("## Scale: vigild with thousands of watched processes\n\n"
            "One vigild started with no units, then every unit file written and `reload` "
            "sent: each unit runs `marker sleep` (its stamp says when it really ran), "
            f"restart on failure by default, `output: {s.get('unit_output', 'log')}`.\n\n"
            + table(["", "figure"], rows) + extrapolated
            + f"\n`bench/rss_units` (vigild started with the units in place): "
              f"{cell(rss, 'VmRSS after start (KiB)', 1)} KiB VmRSS with "
              f"{rss_units_count(r)} units, {cell(rss, 'VmRSS after start (KiB)', 2)} KiB "
              f"per added unit, all running in {cell(rss, 'time to all running (ms)', 1)} ms; "
              f"{cell(rss, 'context switches in idle window', 1)} context switches idle.\n")


def scale_exe_section(r):
    s = r.get("scale_exe")
    if not s:
        return "## Scale: processes of one executable (attach exe)\n\nnot run\n"
    n = s["before"] + s["after"]
    rows = [
        ["processes of the copy started before vigild", f"{s['before']:,} "
         f"(spawned in {s['spawn_before_s']:.1f} s)"],
        ["vigild exec → control socket answers", f"{s['vigild_ready_s'] * 1000:.0f} ms"],
        ["vigild exec → `status` count = all of them (start-up /proc scan)",
         f"{s['start_all_attached_s']:.2f} s ({s['scanned']:,} found)"],
        ["VmRSS / VmHWM / open fds after the scan",
         f"{s['memory_after_scan']['VmRSS']:,} / {s['memory_after_scan']['VmHWM']:,} KiB / "
         f"{s['memory_after_scan']['fds']:,}"],
        ["processes started after vigild (fanotify at exec)", f"{s['after']:,} "
         f"(spawned in {s['spawn_after_s']:.1f} s)"],
        ["first of them spawned → `attach` event for every one",
         f"{s['after_all_attached_s']:.2f} s ({s['after_attached']:,} attached)"],
        [f"with {s['memory']['count']:,} watched: VmRSS / VmHWM",
         f"{s['memory']['VmRSS']:,} / {s['memory']['VmHWM']:,} KiB"],
        ["open fds (one pidfd per process)", f"{s['memory']['fds']:,}"],
        [f"idle: wakeups / CPU in {s['idle_s']} s", f"{s['idle_wakeups']} / "
                                                     f"{s['idle_cpu_ms']:.2f} ms"],
    ]
    storm_rows = []
    for st in s["storms"]:
        lost = (st["attached_without_exit"] + st["exits_without_attach"] + st["overflow_lost"]
                + st.get("attached_not_spawned", 0))
        gone = st.get("exit_by", {}).get("fanotify", 0)
        storm_rows.append([
            f"`sleeper {st['arg']}`", f"{st['spawned']:,}", f"{st['attach_events']:,}",
            f"{gone:,}", f"{st['exit_events']:,}", f"{st['missed']:,}",
            f"{st.get('exec_events_lost', 0):,}", f"{lost:,}",
            f"{st['seconds']:.1f} s", f"{st['spawned'] / st['seconds']:,.0f}",
            f"{st['cpu_us_per_event']:.0f} µs ({st['cpu_ticks_us_per_event']:.0f})",
            f"{st['memory']['VmHWM']:,} KiB"])
    return ("## Scale: 10,000 processes of one executable watched by one attach-exe unit\n\n"
            "One unit `attach: {exe: COPY}` (COPY = a copy of /bin/sleep in a temp dir). "
            "Half the processes (`COPY 3600`) run before vigild starts and are found by its "
            "one /proc scan at start-up (start-up time = vigild's exec until `status` shows "
            "them all); the other half are started after and picked up at exec through "
            "fanotify (`FAN_OPEN_EXEC`), each `attach` event read from the control socket. "
            "Each watched process costs vigild one pidfd (a unit per process costs two, "
            f"see above), so {n:,} processes fit well under this host's hard RLIMIT_NOFILE "
            f"({s['hard_nofile']:,}).\n\n"
            + table(["", "figure"], rows)
            + "\nThen, with those still watched, storms of short-lived processes of the same "
            "COPY, spawned by the bench (`posix_spawn`) a few hundred at a time and reaped the "
            "moment they exit, as a shell would. A subscriber connected before the storm counts "
            "every `attach` and `exit` event and matches them by pid against the pids spawned. "
            "*exited before read*: the process had already exited (and mostly been reaped) "
            "when vigild read its exec event; vigild still reports it, `attach` and at once "
            "`exit` (mechanism `fanotify`, exit status unknown), instead of dropping it. "
            "*never attached*: spawned without any `attach` event. *kernel dropped*: "
            "`exec-events-lost` events (fanotify's queue overflowed). *lost*: attached "
            "without an exit event, an exit without an attach, an attach of a pid never "
            "spawned, or events dropped for the subscriber. The promise for the last three "
            "columns is 0. CPU per event is vigild's on-CPU time (schedstat; utime+stime ticks "
            "in brackets) over the storm and the drain after it, divided by the attach + exit "
            "events.\n\n"
            + table(["storm", "spawned", "attach events", "of them exited before read",
                     "exit events", "never attached", "kernel dropped", "lost", "duration",
                     "spawned/s", "vigild CPU/event", "VmHWM after"],
                    storm_rows))


def rss_units_count(r):
    output = r.get("benches", {}).get("rss_units", {}).get("output", "")
    match = re.search(r"then with (\d+) units", output)
    return match.group(1) if match else MISSING


def raw_section(r):
    out = ["## Raw output of the bench binaries\n"]
    for name, b in r.get("benches", {}).items():
        out.append(f"<details><summary>{name} {' '.join(b['args'])} — exit {b['status']}, "
                   f"{b['seconds']:.0f} s</summary>\n\n```\n{b['output'].rstrip()}\n```\n"
                   "</details>\n")
    return "\n".join(out)


# ---------------------------------------------------------------- plots

COLORS = {"vigild": "#1b9e77", "supervisord": "#d95f02", "monit": "#7570b3",
          "floor": "#666666"}


def color(entry):
    base = COLORS.get(entry["peer"], "#000000")
    return "#e7298a" if "5 s" in entry["label"] or "1 s" in entry["label"] else base


def plots(r, directory):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None, "matplotlib is not installed (apt-get install python3-matplotlib)"
    os.makedirs(directory, exist_ok=True)
    made = []
    idle = r.get("idle", [])
    ns = sorted({e["n"] for e in idle})
    if idle:
        fig, axes = plt.subplots(2, len(ns), figsize=(6 * len(ns), 8), squeeze=False)
        for col, n in enumerate(ns):
            for e in (e for e in idle if e["n"] == n):
                t = [p[0] for p in e["series"]]
                axes[0][col].step(t, [p[1] for p in e["series"]], where="post",
                                  label=e["label"], color=color(e), linewidth=2)
                axes[1][col].step(t, [p[2] for p in e["series"]], where="post",
                                  label=e["label"], color=color(e), linewidth=2)
            axes[0][col].set_title(f"N = {n:,} sleeping watched processes")
            axes[0][col].set_ylabel("wakeups (context switches), cumulative")
            axes[1][col].set_ylabel("CPU (ms), cumulative")
            axes[1][col].set_xlabel("seconds into the idle window")
            for ax in (axes[0][col], axes[1][col]):
                ax.grid(alpha=0.3)
                ax.legend()
        fig.suptitle("Idle supervisors: vigild stays at 0")
        fig.tight_layout()
        fig.savefig(f"{directory}/idle_wakeups.png", dpi=90)
        plt.close(fig)
        made.append(("idle_wakeups.png", "cumulative wakeups and CPU over the idle windows"))
    detection = r.get("detection", [])
    if detection:
        fig, ax = plt.subplots(figsize=(10, 5.5))
        for d in detection:
            s = sorted(x / 1000 for x in d["samples_us"])
            if not s:
                continue
            ax.step(s, [(i + 1) / len(s) for i in range(len(s))], where="post",
                    label=f"{d['label']}: restarted (n={len(s)})", color=color(d), linewidth=2)
            # supervisord's log has whole ms: a notice may read as up to 1 ms early.
            notice = sorted(max(x, 50) / 1000 for x in d.get("notice_us") or [])
            if notice:
                ax.step(notice, [(i + 1) / len(notice) for i in range(len(notice))],
                        where="post", linestyle="--", color=color(d),
                        label=f"{d['label']}: noticed (n={len(notice)})")
        ax.set_xscale("log")
        ax.set_xlabel("ms after SIGKILL (log scale)")
        ax.set_ylabel("fraction of kills")
        ax.set_title("SIGKILL → noticed / restarted: cumulative distribution")
        ax.grid(alpha=0.3, which="both")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.36, 0.06))  # the empty middle
        fig.tight_layout()
        fig.savefig(f"{directory}/detection_latency.png", dpi=90)
        plt.close(fig)
        made.append(("detection_latency.png", "kill → noticed / restarted, per supervisor"))
    storm = r.get("storm")
    if storm and storm.get("runs_per_half_second"):
        fig, ax = plt.subplots(figsize=(10, 4))
        buckets = storm["runs_per_half_second"]
        ax.bar([i * 0.5 for i in range(len(buckets))], [b * 2 for b in buckets], width=0.5,
               align="edge", color=COLORS["vigild"])
        ax.set_xlabel("seconds into the storm")
        ax.set_ylabel("processes run per second")
        ax.set_title(f"Storm: {storm['runs_stamped']:,} runs, {storm['exit_events']:,} exit "
                     f"events, {storm['overflow_lost']} lost in the event stream")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(f"{directory}/storm.png", dpi=90)
        plt.close(fig)
        made.append(("storm.png", "processes per second through the storm"))
    return made, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--plots", required=True, help="directory for the PNG files")
    parser.add_argument("--kmod-section", help="the kernel module's open() section, measured "
                        "in the VM by kmod/bench/run.sh (the module cannot load on the host)")
    args = parser.parse_args()
    with open(args.results) as f:
        r = json.load(f)
    made, why_not = plots(r, args.plots)
    rel = os.path.relpath(args.plots, os.path.dirname(os.path.abspath(args.markdown)))
    plot_text = ("## Plots\n\n" + "\n".join(f"- {what}: ![{name}]({rel}/{name})"
                                            for name, what in made) + "\n"
                 if made else f"## Plots\n\nnone: {why_not}\n")
    kmod_text = []
    if args.kmod_section:
        with open(args.kmod_section) as f:
            kmod_text = [f.read()]
    sections = ([header(r), idle_section(r), detection_section(r), storm_section(r),
                 scale_section(r), scale_exe_section(r), watches_section(r), fd_section(r)] +
                kmod_text + [check_section(r), plot_text, raw_section(r)])
    os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
    with open(args.markdown, "w") as f:
        f.write("\n".join(sections))
    print(f"report.py: wrote {args.markdown}" + (f" and {len(made)} plots in {args.plots}"
                                                 if made else ""))


if __name__ == "__main__":
    main()
