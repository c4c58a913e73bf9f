#!/usr/bin/env python3
"""vigild side by side with monit and supervisord, and at scale.

Measures, in one run, and writes every figure and raw sample to a JSON file
that report.py turns into bench/RESULTS.md and plots:

  idle       wakeups (context switches of all threads, /proc/<pid>/task/*/status)
             and on-CPU time (/proc/<pid>/task/*/schedstat) of each supervisor
             watching N sleeping processes, sampled every second of a window
  detection  SIGKILL of a watched process -> the restarted process running,
             timed by the new process itself (bench/compare/marker.cc stamps
             CLOCK_MONOTONIC as its first act), for every supervisor
  storm      vigild restarting short-lived processes: every run (a stamp line)
             against every "exit" event on the control socket; vigild CPU/event
  scale      vigild with many sleeping units: time to all running, RSS, fds,
             idle wakeups
  scale_exe  one `attach: {exe: ...}` unit watching 10,000 processes of one
             executable (half found by the start-up /proc scan, half at exec
             through fanotify), then a storm of 100,000 short-lived ones:
             every attach and exit event counted against the pids spawned
  benches    the existing //bench binaries (exit_latency, rss_units,
             maze_bench, watch_latency, fd_watch_bench, check_vigil_bench),
             their output kept verbatim for report.py to parse

Every daemon runs in its own temporary directory, in the foreground, and is
killed by pid at the end (also on Ctrl-C). The bench is a child subreaper:
monit's start programs daemonize, and their processes are re-parented to
(and reaped by) the bench rather than left as zombies under pid 1.

Needs root (cgroups for vigild, drop_caches for fd_watch_bench). monit and
supervisord are used when installed (bench/compare/run.sh installs them) and
skipped with a note otherwise.
"""

import argparse
import collections
import ctypes
import datetime
import json
import os
import platform
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
MONIT = shutil.which("monit") or "/usr/bin/monit"
SUPERVISORD = shutil.which("supervisord") or "/usr/bin/supervisord"
CHECK_PROCS = "/usr/lib/nagios/plugins/check_procs"

# Full run and quick run (the Bazel test: seconds, nothing judged).
SETTINGS = {
    "full": dict(
        idle_ns=[20, 1000], idle_window_s=60, sample_s=1.0, settle_s=5.0,
        monit_cycles=[30, 5], detect_n=20, vigil_kills=250, supervisord_kills=60,
        monit_kills={30: (30, 90), 5: (40, 80)},  # cycle -> (kills, over seconds)
        storm_units=100, storm_runs_per_unit=1000, scale_units=10000,
        scale_idle_s=10, exe_before=5000, exe_after=5000, exe_storms=[("0", 100000), ("0.05", 20000)],
        exe_storm_concurrent=300,
        benches=[
            ("exit_latency", ["--kills=1000"]),
            ("rss_units", ["--units=1000"]),
            ("maze_bench", ["--window_seconds=30"]),
            ("watch_latency", []),
            ("fd_watch_bench", []),
            ("check_vigil_bench", []),
        ]),
    "quick": dict(
        idle_ns=[5], idle_window_s=2, sample_s=0.25, settle_s=0.5,
        monit_cycles=[2, 1], detect_n=5, vigil_kills=10, supervisord_kills=10,
        monit_kills={2: (3, 3), 1: (3, 2)},
        storm_units=10, storm_runs_per_unit=20, scale_units=200, scale_idle_s=1,
        exe_before=100, exe_after=100, exe_storms=[("0", 1000), ("0.05", 200)], exe_storm_concurrent=50,
        benches=[(name, ["--quick"]) for name in (
            "exit_latency", "rss_units", "maze_bench", "watch_latency",
            "fd_watch_bench", "check_vigil_bench")]),
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

class Children:
    """Processes the bench started or inherited, reaped by the bench.

    Every exit status is collected here (waitpid(-1)), so a daemonized
    process killed by the bench never lingers as a zombie that monit would
    take for alive.
    """

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.exited = {}

    def spawn(self, argv, output="/dev/null", cwd=None):
        pid = os.fork()
        if pid == 0:
            try:
                if cwd:
                    os.chdir(cwd)
                out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(out, 1)
                os.dup2(out, 2)
                os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        return pid

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exited[pid] = status

    def wait(self, pid, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.reap()
            if pid in self.exited or not os.path.exists(f"/proc/{pid}"):
                return True
            time.sleep(0.005)
        return False

    def stop(self, pid, timeout_s=30):
        """SIGTERM, then SIGKILL after `timeout_s`; True if it stopped on SIGTERM."""
        if pid is None or not alive(pid):
            self.reap()
            return True
        os.kill(pid, signal.SIGTERM)
        if self.wait(pid, timeout_s):
            return True
        os.kill(pid, signal.SIGKILL)
        self.wait(pid, 5)
        return False


class Inotify:
    """Wakes the bench when a file in a directory is written (a stamp), so
    that it waits for restarts asleep instead of competing for the CPU with
    the supervisor it measures."""

    IN_MODIFY = 0x2
    IN_NONBLOCK_CLOEXEC = os.O_NONBLOCK | os.O_CLOEXEC

    def __init__(self, directory):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, directory.encode(), self.IN_MODIFY) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {directory}")

    def fileno(self):
        return self.fd

    def wait(self, extra_fds, timeout_s):
        select.select([self.fd] + extra_fds, [], [], max(0, timeout_s))
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def close(self):
        os.close(self.fd)


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2]


def alive(pid):
    state = proc_state(pid)
    return state is not None and state not in "ZX"


def wait_asleep(pid, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = proc_state(pid)
        if state == "S":
            return True
        if state is None or state in "ZX":
            return False
        time.sleep(0.0002)
    return False


def task_stats(pid):
    """(context switches, on-CPU ns) summed over every thread of `pid`."""
    switches = cpu_ns = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                cpu_ns += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return switches, cpu_ns


def memory_kib(pid):
    figures = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM", "Threads"):
                figures[key] = int(line.split()[1])
    figures["fds"] = os.stat(f"/proc/{pid}/fd").st_size
    return figures


def read_stamps(path):
    """[(pid, CLOCK_MONOTONIC ns)] from a marker stamp file."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    stamps = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            stamps.append((int(parts[0]), int(parts[1])))
    return stamps


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4]
    raise RuntimeError("no cgroup2 mount in /proc/self/mountinfo (vigild needs one)")


def remove_cgroup_tree(path):
    for root, dirs, _ in os.walk(path, topdown=False):
        for d in dirs:
            try:
                os.rmdir(os.path.join(root, d))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


# ---------------------------------------------------------------- supervisors

class Peer:
    """One supervisor watching `n` marker processes, in its own temp dir.

    Watched process i appends to stamp(i) each time it (re)starts.
    """

    name = "?"
    reports_exits = False  # whether noticed() can time the supervisor's report
    notice_how = ""

    def __init__(self, kids, marker, n, label=None):
        self.kids = kids
        self.marker = marker
        self.n = n
        self.label = label or self.name
        self.dir = tempfile.mkdtemp(prefix=f"vigil-cmp-{self.name}-")
        self.pid = None
        self.start_s = None

    def stamp(self, i):
        return f"{self.dir}/w{i}.stamp"

    def current_pid(self, i):
        stamps = read_stamps(self.stamp(i))
        return stamps[-1][0] if stamps else None

    def wait_all_running(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        pending = set(range(self.n))
        while pending and time.monotonic() < deadline:
            if self.pid is not None and not alive(self.pid):
                raise RuntimeError(f"{self.label} exited during start-up; see {self.log_path()}")
            pending = {i for i in pending if not (self.current_pid(i) and alive(self.current_pid(i)))}
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError(f"{self.label}: {len(pending)} of {self.n} processes not running "
                               f"after {timeout_s} s; see {self.log_path()}")

    def log_path(self):
        return f"{self.dir}/{self.name}.log"

    def watch_exits(self):
        """Prepares noticed(): called once before the kills."""

    def noticed(self, i, pid, killed_at_ns, killed_wall):
        """µs from the kill to the supervisor's report of it, or None yet."""
        return None

    def wait_fds(self):
        """What, besides a stamp, may bring the report noticed() looks for."""
        return []

    def start(self):
        began = time.monotonic()
        self.launch()
        self.wait_all_running(120 + self.n * 0.2)
        self.start_s = time.monotonic() - began

    def stop(self):
        self.kids.stop(self.pid)
        self.pid = None
        for i in range(self.n):  # whatever the daemon left behind
            pid = self.current_pid(i)
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
                self.kids.wait(pid, 5)
        self.kids.reap()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Vigild(Peer):
    name = "vigild"
    counter = 0

    def __init__(self, kids, marker, n, vigild, label=None, unit_yaml=None):
        super().__init__(kids, marker, n, label)
        self.vigild = vigild
        Vigild.counter += 1
        self.cgroup_root = f"{cgroup2_mount()}/vigil-cmp-{os.getpid()}-{Vigild.counter}"
        self.socket = f"{self.dir}/vigild.sock"
        os.mkdir(f"{self.dir}/units")
        with open(f"{self.dir}/vigil.yaml", "w") as f:
            f.write(f"control_socket: {self.socket}\ncgroup_root: {self.cgroup_root}\n"
                    "units_dir: units\n")
        for i in range(n):
            self.write_unit(f"w{i}", unit_yaml(i) if unit_yaml else self.sleeper_unit(i))

    def sleeper_unit(self, i):
        return (f"exec: [{self.marker}, sleep, {self.stamp(i)}]\n"
                "restart: always\n"
                "backoff: {initial: 1ms, max: 1ms, factor: 1}\n"
                "start_limit: {burst: 1000000, interval: 1s}\n")

    reports_exits = True
    notice_how = "\"exit\" event read from the control socket by the bench"

    def watch_exits(self):
        self.events = Control(self.socket)
        self.events.request({"cmd": "events"})

    def wait_fds(self):
        return [self.events.sock]

    def noticed(self, i, pid, killed_at_ns, killed_wall):
        for line in self.events.lines(0):
            if b'"kind":"exit"' in line and json.loads(line)["pid"] == pid:
                return (time.monotonic_ns() - killed_at_ns) / 1e3
        return None

    def write_unit(self, name, yaml):
        path = f"{self.dir}/units/{name}.yaml"
        with open(path + ".tmp", "w") as f:
            f.write(yaml)
        os.rename(path + ".tmp", path)

    def launch(self):
        self.pid = self.kids.spawn([self.vigild, "--config", f"{self.dir}/vigil.yaml"],
                                   self.log_path())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not alive(self.pid):
                raise RuntimeError(f"vigild exited at start-up:\n{open(self.log_path()).read()}")
            try:
                Control(self.socket).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"vigild did not answer on {self.socket}")

    def stop(self):
        super().stop()
        remove_cgroup_tree(self.cgroup_root)


class Monit(Peer):
    """monit checks each process by pidfile every `cycle` seconds and runs
    its start program (marker daemon) when it finds it gone. The processes
    are started by the bench before monit (as a running system would have
    them); they and their restarts are re-parented to the bench."""

    name = "monit"

    def __init__(self, kids, marker, n, cycle):
        super().__init__(kids, marker, n, f"monit ({cycle} s cycle)")
        self.cycle = cycle
        rc = f"{self.dir}/monitrc"
        with open(rc, "w") as f:
            f.write(f"set daemon {cycle}\nset logfile {self.log_path()}\n"
                    f"set pidfile {self.dir}/monit.pid\nset idfile {self.dir}/monit.id\n"
                    f"set statefile {self.dir}/monit.state\n")
            for i in range(n):
                f.write(f"check process w{i} with pidfile {self.pidfile(i)}\n"
                        f"  start program = \"{marker} daemon {self.stamp(i)} {self.pidfile(i)}\"\n")
        os.chmod(rc, 0o600)  # monit refuses a control file others can read

    def pidfile(self, i):
        return f"{self.dir}/w{i}.pid"

    def launch(self):
        for i in range(self.n):
            starter = self.kids.spawn([self.marker, "daemon", self.stamp(i), self.pidfile(i)])
            self.kids.wait(starter, 10)
        self.pid = self.kids.spawn([MONIT, "-I", "-c", f"{self.dir}/monitrc"],
                                   f"{self.dir}/monit.out")

    def start(self):
        super().start()
        # The first cycle runs at start-up; let it pass before anything is measured.
        time.sleep(min(self.cycle, 2))


class Supervisord(Peer):
    name = "supervisord"

    def __init__(self, kids, marker, n):
        super().__init__(kids, marker, n)
        with open(f"{self.dir}/supervisord.conf", "w") as f:
            f.write("[supervisord]\nnodaemon=true\n"
                    f"logfile={self.log_path()}\npidfile={self.dir}/supervisord.pid\n"
                    f"childlogdir={self.dir}\nminfds={max(1024, 6 * n + 64)}\n\n")
            # Output logged as by default (AUTO, in childlogdir): the pipes'
            # hang-up is what wakes supervisord at once when a child dies; it
            # does not wake for SIGCHLD itself (PEP 475 restarts its poll()),
            # so without them a restart waits for its 1 s tick.
            for i in range(n):
                f.write(f"[program:w{i}]\ncommand={marker} sleep {self.stamp(i)}\n"
                        "autorestart=true\nstartsecs=0\nstartretries=1000000\n\n")

    reports_exits = True
    notice_how = "\"exited:\" line in supervisord's log (its timestamps have ms resolution)"
    LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ exited: (w\d+) ")

    def watch_exits(self):
        self.log_offset = os.path.getsize(self.log_path())

    def noticed(self, i, pid, killed_at_ns, killed_wall):
        with open(self.log_path()) as f:
            f.seek(self.log_offset)
            text = f.read()
        for line in text.splitlines():
            match = self.LOG_TIME.match(line)
            if match and match.group(3) == f"w{i}":
                self.log_offset += len(text.encode())
                logged = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
                return (logged + int(match.group(2)) / 1e3 - killed_wall) * 1e6
        return None

    def launch(self):
        self.pid = self.kids.spawn([SUPERVISORD, "-n", "-c", f"{self.dir}/supervisord.conf"],
                                   f"{self.dir}/supervisord.out")


class Control:
    """vigild's control socket: JSON lines."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, request):
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def lines(self, timeout_s):
        """Complete lines available within `timeout_s` (may be none)."""
        self.sock.settimeout(timeout_s)
        try:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("vigild closed the control socket")
            self.buffer += chunk
        except (socket.timeout, BlockingIOError):
            pass
        *complete, self.buffer = self.buffer.split(b"\n")
        return complete

    def request(self, request, timeout_s=30):
        self.send(request)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines(1):
                return json.loads(line)
        raise TimeoutError(f"no reply from vigild to {request}")


# ---------------------------------------------------------------- measurements

def idle_window(peer, window_s, sample_s):
    """Wakeups and CPU of the supervisor over `window_s`, sampled for a plot."""
    start = task_stats(peer.pid)
    t0 = time.monotonic()
    series = [(0.0, 0, 0.0)]
    next_sample = t0 + sample_s
    while True:
        time.sleep(max(0, next_sample - time.monotonic()))
        now = task_stats(peer.pid)
        if now is None:
            raise RuntimeError(f"{peer.label} exited during the idle window")
        elapsed = time.monotonic() - t0
        series.append((round(elapsed, 3), now[0] - start[0], (now[1] - start[1]) / 1e6))
        next_sample += sample_s
        if elapsed >= window_s - 1e-3:
            break
    _, wakeups, cpu_ms = series[-1]
    return dict(peer=peer.name, label=peer.label, n=peer.n, window_s=series[-1][0],
                wakeups=wakeups, wakeups_per_min=wakeups * 60 / series[-1][0],
                cpu_ms=cpu_ms, start_s=peer.start_s, memory=memory_kib(peer.pid),
                series=series)


def kill_and_time(peer, wake, i, timeout_s):
    """SIGKILL watched process i once it sleeps. Returns µs until its
    successor stamped (restart) and until the supervisor reported the exit
    (notice; None where it has no such report)."""
    pid = peer.current_pid(i)
    if not wait_asleep(pid):
        raise RuntimeError(f"{peer.label}: watched process {pid} is not asleep")
    before = len(read_stamps(peer.stamp(i)))
    killed_at, killed_wall = time.monotonic_ns(), time.time()
    os.kill(pid, signal.SIGKILL)
    restart = notice = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        peer.kids.reap()  # ours when monit's start program daemonized it
        if notice is None:
            notice = peer.noticed(i, pid, killed_at, killed_wall)
        if restart is None:
            stamps = read_stamps(peer.stamp(i))
            if len(stamps) > before:
                restart = (stamps[before][1] - killed_at) / 1e3
        if restart is not None and (notice is not None or not peer.reports_exits):
            return restart, notice
        wake.wait(peer.wait_fds(), 0.05)
    raise RuntimeError(f"{peer.label}: no restart of w{i} within {timeout_s} s")


def detect_sequential(peer, kills):
    """One kill at a time, round robin over the watched processes."""
    peer.watch_exits()
    wake = Inotify(peer.dir)
    restarts, notices = [], []
    for k in range(kills):
        restart, notice = kill_and_time(peer, wake, k % peer.n, 30)
        restarts.append(restart)
        if notice is not None:
            notices.append(notice)
    wake.close()
    return dict(peer=peer.name, label=peer.label, n=peer.n, kills=kills,
                method="one at a time, round robin", samples_us=restarts,
                notice_us=notices, notice_how=peer.notice_how)


def detect_floor(marker, kills):
    """The least any supervisor can take: marker's own pidfd restarter."""
    with tempfile.TemporaryDirectory(prefix="vigil-cmp-floor-") as d:
        out = subprocess.run([marker, "floor", f"{d}/stamp", str(kills)], capture_output=True,
                             text=True, timeout=300, check=True).stdout
    return dict(peer="floor", label="bare restarter (floor)", n=1, kills=kills,
                method="pidfd poll, waitpid, fork+exec, in one C process",
                samples_us=[float(x) for x in out.split()])


def detect_scattered(peer, kills, span_s):
    """Kills at random moments over `span_s` (several cycles), each of a
    process not already waiting for its restart: a polling supervisor is
    sampled over its whole cycle without waiting one cycle per kill."""
    rng = random.Random(9)
    times = sorted(rng.uniform(0.2, span_s) for _ in range(kills))
    t0 = time.monotonic()
    pending = {}  # i -> (stamp count before, killed_at ns)
    restarted_at = {}  # i -> monotonic s of its last restart seen
    samples = []

    def collect():
        peer.kids.reap()
        for i, (before, killed_at) in list(pending.items()):
            stamps = read_stamps(peer.stamp(i))
            if len(stamps) > before:
                samples.append((stamps[before][1] - killed_at) / 1e3)
                restarted_at[i] = time.monotonic()
                del pending[i]

    wake = Inotify(peer.dir)
    for at in times:
        while time.monotonic() - t0 < at:
            collect()
            wake.wait([], at - (time.monotonic() - t0))
        # Not one monit may still be verifying: after a start program it
        # watches the new process for up to 30 s, and a kill inside that
        # wait costs a whole timeout, which is the bench's doing, not monit's.
        free = [i for i in range(peer.n) if i not in pending
                and time.monotonic() - restarted_at.get(i, -1e9) > 35]
        if not free:
            continue
        i = rng.choice(free)
        pid = peer.current_pid(i)
        if not wait_asleep(pid):
            continue
        pending[i] = (len(read_stamps(peer.stamp(i))), time.monotonic_ns())
        os.kill(pid, signal.SIGKILL)
        peer.kids.wait(pid, 5)  # reaped at once: a zombie would look alive to monit
    deadline = time.monotonic() + 3 * peer.cycle + 30
    while pending and time.monotonic() < deadline:
        collect()
        wake.wait([], 0.5)
    wake.close()
    return dict(peer=peer.name, label=peer.label, n=peer.n, kills=len(samples),
                missed=len(pending), method=f"at random moments over {span_s} s ({kills} planned, "
                "one skipped when no process was free)",
                samples_us=samples)


def run_peers(kids, marker, vigild, cfg, skipped, only_peers=None):
    """Idle windows for every N and the detection run, one supervisor at a time."""
    idle, detection = [], []

    def peers_for(n):
        wanted = lambda name: not only_peers or name in only_peers
        if wanted("vigild"):
            yield lambda: Vigild(kids, marker, n, vigild)
        if os.access(MONIT, os.X_OK) and wanted("monit"):
            for cycle in cfg["monit_cycles"]:
                yield lambda cycle=cycle: Monit(kids, marker, n, cycle)
        if os.access(SUPERVISORD, os.X_OK) and wanted("supervisord"):
            yield lambda: Supervisord(kids, marker, n)

    if not os.access(MONIT, os.X_OK):
        skipped.append("monit: not installed (bench/compare/run.sh installs it)")
    if not os.access(SUPERVISORD, os.X_OK):
        skipped.append("supervisord: not installed (bench/compare/run.sh installs it)")
    for n in sorted(set(cfg["idle_ns"]) | {cfg["detect_n"]}):
        for make in peers_for(n):
            peer = make()
            try:
                log(f"{peer.label}: starting with {n} watched processes")
                peer.start()
                if n in cfg["idle_ns"]:
                    time.sleep(cfg["settle_s"])
                    log(f"{peer.label}: idle window {cfg['idle_window_s']} s")
                    idle.append(idle_window(peer, cfg["idle_window_s"], cfg["sample_s"]))
                    log(f"{peer.label}: {idle[-1]['wakeups']} wakeups, "
                        f"{idle[-1]['cpu_ms']:.2f} ms CPU")
                if n == cfg["detect_n"]:
                    log(f"{peer.label}: detection")
                    if isinstance(peer, Monit):
                        kills, span = cfg["monit_kills"][peer.cycle]
                        detection.append(detect_scattered(peer, kills, span))
                    else:
                        kills = cfg["vigil_kills"] if isinstance(peer, Vigild) \
                            else cfg["supervisord_kills"]
                        detection.append(detect_sequential(peer, kills))
                    if isinstance(peer, Vigild):
                        detection.append(detect_floor(marker, kills))
            finally:
                peer.stop()
                peer.cleanup()
    return idle, detection


def storm(kids, marker, vigild, units, runs_per_unit):
    """`units` units of `marker exit` (restart always, 1 ms backoff), each
    allowed exactly `runs_per_unit` starts by its start limit: units*runs
    short-lived processes. Every run stamps a line; every "exit" event on the
    control socket is counted and matched by pid."""
    peer = Vigild(kids, marker, 0, vigild, label="vigild storm")
    stamp = f"{peer.dir}/storm.stamp"
    try:
        peer.launch()
        events = Control(peer.socket)
        assert events.request({"cmd": "events"}).get("subscribed")
        for u in range(units):
            peer.write_unit(f"s{u}", f"exec: [{marker}, exit, {stamp}]\nrestart: always\n"
                            "backoff: {initial: 1ms, max: 1ms, factor: 1}\n"
                            f"start_limit: {{burst: {runs_per_unit}, interval: 1h}}\n")
        cpu_before = task_stats(peer.pid)
        began = time.monotonic()
        Control(peer.socket).request({"cmd": "reload"})
        exit_pids, failed, lost, kinds = [], set(), 0, {}
        deadline = time.monotonic() + 60 + units * runs_per_unit / 200
        while len(failed) < units and time.monotonic() < deadline:
            for line in events.lines(1):
                if b'"kind":"exit"' in line:
                    exit_pids.append(json.loads(line)["pid"])
                elif b'"state":"failed"' in line:
                    failed.add(json.loads(line)["unit"])
                elif b'"overflow"' in line:
                    lost += json.loads(line).get("lost", 0)
                kind = re.search(rb'"kind":"([^"]*)"', line)
                if kind:
                    kinds[kind.group(1).decode()] = kinds.get(kind.group(1).decode(), 0) + 1
        seconds = time.monotonic() - began
        cpu_after = task_stats(peer.pid)
        runs = read_stamps(stamp)
        run_pids = sorted(p for p, _ in runs)
        result = dict(units=units, runs_per_unit=runs_per_unit, expected=units * runs_per_unit,
                      runs_stamped=len(runs), exit_events=len(exit_pids),
                      units_done=len(failed), overflow_lost=lost,
                      pids_match=sorted(exit_pids) == run_pids, seconds=seconds,
                      vigild_cpu_ms=(cpu_after[1] - cpu_before[1]) / 1e6,
                      vigild_switches=cpu_after[0] - cpu_before[0], event_kinds=kinds,
                      memory=memory_kib(peer.pid))
        result["lost"] = result["runs_stamped"] - result["exit_events"]
        result["cpu_us_per_exit"] = result["vigild_cpu_ms"] * 1e3 / max(1, len(exit_pids))
        if runs:
            span_ns = runs[-1][1] - runs[0][1]
            result["exits_per_s"] = len(runs) / max(1e-9, span_ns / 1e9)
            # Runs per 0.5 s from the stamps, for a plot.
            first = runs[0][1]
            buckets = {}
            for _, ns in runs:
                b = int((ns - first) / 5e8)
                buckets[b] = buckets.get(b, 0) + 1
            result["runs_per_half_second"] = [buckets.get(b, 0) for b in range(max(buckets) + 1)]
        events.close()
        return result
    finally:
        peer.stop()
        peer.cleanup()


# What a running unit of the scale run holds open in vigild: its main
# process's pidfd. Its units say `output: null` (marker writes nothing), so
# there is no output pipe; with the default `output: log` a unit holds that
# pipe's read end too. The cgroup directory is open only while spawning, and
# every unit's cgroup.events is watched through one inotify fd.
FDS_PER_UNIT = 1
SCALE_UNIT_OUTPUT = "null"
# Open only for a moment while a unit is spawned (the cgroup directory, the
# spawner's exec-error pipe), a unit file is read or the bench's request is
# answered.
SPAWN_FDS = 8


def scale(kids, marker, vigild, wanted, idle_s):
    """vigild with `wanted` sleeping units, or as many as this host's fd limit
    allows (FDS_PER_UNIT each, beside vigild's own): time from reload to all
    stamped, RSS, fds, idle wakeups; and the same vigild with no units, for
    the difference."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = FDS_PER_UNIT * wanted + 256
    if hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            hard = need
        except (ValueError, OSError):
            pass  # the note below says what fits
    peer = Vigild(kids, marker, 0, vigild, label="vigild scale")
    stamps = f"{peer.dir}/stamps"
    os.mkdir(stamps)
    try:
        launched = time.monotonic()
        peer.launch()
        ready_s = time.monotonic() - launched
        empty = memory_kib(peer.pid)
        units = min(wanted, (hard - empty["fds"] - SPAWN_FDS) // FDS_PER_UNIT)
        note = ""
        if units < wanted:
            note = (f"{wanted:,} units need {FDS_PER_UNIT * wanted + empty['fds']:,} fds "
                    f"({FDS_PER_UNIT} per unit with output: {SCALE_UNIT_OUTPUT}; "
                    f"{empty['fds']} for vigild itself); the hard RLIMIT_NOFILE here is "
                    f"{hard:,} and raising it needs CAP_SYS_RESOURCE")
        for u in range(units):
            peer.write_unit(f"w{u}", f"exec: [{marker}, sleep, {stamps}/w{u}]\n"
                                     f"output: {SCALE_UNIT_OUTPUT}\n")
        cpu_before = task_stats(peer.pid)
        reload_ns = time.monotonic_ns()
        control = Control(peer.socket)
        control.request({"cmd": "reload"}, timeout_s=600)
        control.close()
        deadline = time.monotonic() + 120 + units * 0.05
        while len(os.listdir(stamps)) < units and time.monotonic() < deadline:
            time.sleep(0.1)
        started = len(os.listdir(stamps))
        last_ns = max(read_stamps(f"{stamps}/{f}")[0][1] for f in os.listdir(stamps))
        cpu_start = task_stats(peer.pid)
        time.sleep(1)  # the last events settle
        idle_before = task_stats(peer.pid)
        time.sleep(idle_s)
        idle_after = task_stats(peer.pid)
        full = memory_kib(peer.pid)
        stop_began = time.monotonic()
        kids.stop(peer.pid, timeout_s=120)
        stop_s = time.monotonic() - stop_began
        return dict(wanted=wanted, units=units, started=started, note=note, hard_nofile=hard,
                    unit_output=SCALE_UNIT_OUTPUT,
                    vigild_ready_s=ready_s, all_running_s=(last_ns - reload_ns) / 1e9,
                    start_cpu_ms=(cpu_start[1] - cpu_before[1]) / 1e6,
                    memory_empty=empty, memory=full,
                    rss_per_unit_kib=(full["VmRSS"] - empty["VmRSS"]) / max(1, units),
                    fds_per_unit=(full["fds"] - empty["fds"]) / max(1, units),
                    idle_s=idle_s, idle_wakeups=idle_after[0] - idle_before[0],
                    idle_cpu_ms=(idle_after[1] - idle_before[1]) / 1e6, stop_s=stop_s)
    finally:
        peer.stop()
        peer.cleanup()


class EventLog(threading.Thread):
    """Every attach/exit event of one unit on vigild's event stream, read by a
    thread so that vigild's per-subscriber buffer never fills while the bench
    is busy spawning."""

    LINE = re.compile(rb'"kind":"(attach|exit|overflow|exec-events-lost)"')
    PID = re.compile(rb'"pid":(\d+)')
    MECHANISM = re.compile(rb'"mechanism":"([^"]*)"')

    def __init__(self, socket_path):
        super().__init__(daemon=True)
        self.control = Control(socket_path)
        assert self.control.request({"cmd": "events"}).get("subscribed")
        self.events = []  # (kind, pid, mechanism)
        self.overflow_lost = 0
        self.done = False

    def run(self):
        while not self.done:
            for line in self.control.lines(0.2):
                kind = self.LINE.search(line)
                if not kind:
                    continue
                if kind.group(1) == b"overflow":
                    self.overflow_lost += json.loads(line).get("lost", 0)
                    continue
                pid = self.PID.search(line)
                mechanism = self.MECHANISM.search(line)
                self.events.append((kind.group(1).decode(), int(pid.group(1)) if pid else 0,
                                    mechanism.group(1).decode() if mechanism else ""))

    def stop(self):
        self.done = True
        self.join()
        self.control.close()


def cpu_ticks(pid):
    """utime + stime of `pid` (all threads) in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def exe_storm(events, peer, kids, spawn, exe, arg, storm_n, concurrent, status):
    """`storm_n` processes `exe arg`, `concurrent` at a time, each reaped by
    the bench as soon as it exits (as a shell would); their attach and exit
    events matched by pid against the pids spawned."""
    log(f"scale_exe: storm of {storm_n:,} `{os.path.basename(exe)} {arg}`")
    first_event = len(events.events)
    cpu_before, ticks_before = task_stats(peer.pid), cpu_ticks(peer.pid)
    spawned, running = [], set()
    t = time.monotonic()
    while len(spawned) < storm_n or running:
        while len(running) < concurrent and len(spawned) < storm_n:
            pid = spawn([exe, arg])
            running.add(pid)
            spawned.append(pid)
        pid, code = os.waitpid(-1, 0)
        if pid in running:
            running.discard(pid)
        else:
            kids.exited[pid] = code
    storm_s = time.monotonic() - t
    # Every spawned process's attach and exit event (vigild may lag behind
    # the bench), or a minute without them.
    wanted = collections.Counter(spawned)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        storm_events = events.events[first_event:]
        attach_pids = collections.Counter(p for k, p, _ in storm_events if k == "attach")
        exit_pids = collections.Counter(p for k, p, _ in storm_events if k == "exit")
        if not (wanted - attach_pids) and not (attach_pids - exit_pids):
            break
        time.sleep(0.2)
    drain_s = time.monotonic() - t - storm_s
    cpu_after, ticks_after = task_stats(peer.pid), cpu_ticks(peer.pid)
    storm_events = events.events[first_event:]
    attach_pids = collections.Counter(p for k, p, _ in storm_events if k == "attach")
    exit_pids = collections.Counter(p for k, p, _ in storm_events if k == "exit")
    spawned_pids = collections.Counter(spawned)
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    result = dict(
        arg=arg, spawned=storm_n, concurrent=concurrent, seconds=storm_s, drain_s=drain_s,
        attach_events=sum(attach_pids.values()), exit_events=sum(exit_pids.values()),
        attach_by=dict(collections.Counter(m for k, _, m in storm_events if k == "attach")),
        # "fanotify": the process had exited when vigild read its exec event.
        exit_by=dict(collections.Counter(m for k, _, m in storm_events if k == "exit")),
        exec_events_lost=sum(1 for k, _, _ in storm_events if k == "exec-events-lost"),
        attached_not_spawned=sum((attach_pids - spawned_pids).values()),
        exits_without_attach=sum((exit_pids - attach_pids).values()),
        attached_without_exit=sum((attach_pids - exit_pids).values()),
        missed=sum((spawned_pids - attach_pids).values()),
        overflow_lost=events.overflow_lost,
        events=sum(1 for k, _, _ in storm_events if k in ("attach", "exit")),
        cpu_ms=(cpu_after[1] - cpu_before[1]) / 1e6,
        cpu_ticks_ms=(ticks_after - ticks_before) * tick_us / 1e3,
        switches=cpu_after[0] - cpu_before[0],
        memory=memory_kib(peer.pid), count_after=status().get("count", 0))
    result["cpu_us_per_event"] = result["cpu_ms"] * 1e3 / max(1, result["events"])
    result["cpu_ticks_us_per_event"] = result["cpu_ticks_ms"] * 1e3 / max(1, result["events"])
    log(f"scale_exe: {storm_n:,} spawned, {result['attach_events']:,} attach, "
        f"{result['exit_events']:,} exit events, {result['missed']:,} never attached")
    return result


def scale_exe(kids, vigild, cfg):
    """One `attach: {exe: COPY}` unit (COPY = a copy of /bin/sleep): exe_before
    processes of COPY started before vigild (found by its start-up /proc
    scan), exe_after started after it (fanotify FAN_OPEN_EXEC); RSS, fds and
    idle wakeups with all of them watched; then the storms of exe_storms
    (`COPY 0`: exits at once; `COPY 0.05`: lives 50 ms) while they stay."""
    before, after = cfg["exe_before"], cfg["exe_after"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # vigild inherits it
    peer = Vigild(kids, None, 0, vigild, label="vigild attach exe")
    exe = f"{peer.dir}/sleeper"
    shutil.copy("/bin/sleep", exe)
    os.chmod(exe, 0o755)
    peer.write_unit("sleepers", f"attach: {{exe: {exe}}}\n")
    sleepers = set()
    spawn = lambda argv: os.posix_spawn(exe, argv, {})

    def status():
        control = Control(peer.socket)
        try:
            units = control.request({"cmd": "status"}, timeout_s=60)["units"]
        finally:
            control.close()
        return next(u for u in units if u["name"] == "sleepers")

    events = None
    try:
        t = time.monotonic()
        for _ in range(before):
            sleepers.add(spawn([exe, "3600"]))
        spawn_before_s = time.monotonic() - t
        for pid in sleepers:  # every exec done before vigild starts
            while not os.path.exists(f"/proc/{pid}/exe") or \
                    os.readlink(f"/proc/{pid}/exe") != exe:
                time.sleep(0.001)
        launched = time.monotonic()
        peer.launch()
        ready_s = time.monotonic() - launched
        count = 0
        deadline = time.monotonic() + 120
        while count < before and time.monotonic() < deadline:
            count = status().get("count", 0)
            if count < before:
                time.sleep(0.05)
        scan_s = time.monotonic() - launched
        scanned = count
        events = EventLog(peer.socket)
        events.start()
        memory_before = memory_kib(peer.pid)
        # The second half, picked up at exec.
        later = []
        t = time.monotonic()
        for _ in range(after):
            later.append(spawn([exe, "3600"]))
        spawn_after_s = time.monotonic() - t
        sleepers.update(later)
        wanted = set(later)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            seen = {pid for kind, pid, _ in events.events if kind == "attach"}
            if wanted <= seen:
                break
            time.sleep(0.02)
        after_s = time.monotonic() - t
        after_attached = len(wanted & {pid for kind, pid, _ in events.events if kind == "attach"})
        time.sleep(1)  # the last events settle
        full = memory_kib(peer.pid)
        full["count"] = status().get("count", 0)
        idle_before = task_stats(peer.pid)
        time.sleep(cfg["scale_idle_s"])
        idle_after = task_stats(peer.pid)
        storms = [exe_storm(events, peer, kids, spawn, exe, arg, n, cfg["exe_storm_concurrent"], status)
                  for arg, n in cfg["exe_storms"]]
        return dict(
            exe=exe, before=before, after=after, hard_nofile=hard,
            spawn_before_s=spawn_before_s, vigild_ready_s=ready_s,
            start_all_attached_s=scan_s, scanned=scanned, memory_after_scan=memory_before,
            spawn_after_s=spawn_after_s, after_all_attached_s=after_s,
            after_attached=after_attached, memory=full,
            idle_s=cfg["scale_idle_s"], idle_wakeups=idle_after[0] - idle_before[0],
            idle_cpu_ms=(idle_after[1] - idle_before[1]) / 1e6, storms=storms)
    finally:
        if events:
            events.stop()
        kids.stop(peer.pid, timeout_s=60)
        for pid in sleepers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in sleepers:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        peer.stop()
        peer.cleanup()


def run_benches(bench_dir, benches):
    """Runs the existing //bench binaries as `bazel run` would (from their
    runfiles tree, or from the test's), keeping their output verbatim."""
    results = {}
    for name, args in benches:
        binary = os.path.join(bench_dir, name)
        runfiles = f"{binary}.runfiles/vigil"
        cwd = runfiles if os.path.isdir(runfiles) else None
        log(f"{name} {' '.join(args)}")
        began = time.monotonic()
        try:
            done = subprocess.run([binary] + args, cwd=cwd, capture_output=True, text=True,
                                  timeout=900)
            output, status = done.stdout + done.stderr, done.returncode
        except (OSError, subprocess.TimeoutExpired) as e:
            output, status = str(e), -1
        results[name] = dict(args=args, status=status, seconds=time.monotonic() - began,
                             output=output)
        if status != 0:
            log(f"{name} failed ({status}):\n{output}")
    return results


def version(argv, pattern):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        match = re.search(pattern, out.stdout + out.stderr)
        return match.group(0) if match else "?"
    except OSError:
        return "not installed"


def machine():
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    cpu_model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    os_name = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    return dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                hostname=platform.node(), os=os_name, kernel=platform.release(),
                cpus=os.cpu_count(), cpu_model=cpu_model, mem_gib=round(mem_kib / 2**20, 1),
                loadavg=load,
                monit=version([MONIT, "-V"], r"\d+\.\d+(\.\d+)?"),
                supervisord=version([SUPERVISORD, "--version"], r"\d+\.\d+(\.\d+)?"),
                check_procs=version([CHECK_PROCS, "-V"], r"\d+\.\d+(\.\d+)?"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vigild", required=True)
    parser.add_argument("--marker", required=True)
    parser.add_argument("--bench-dir", help="directory of the //bench binaries")
    parser.add_argument("--out", required=True, help="results JSON to write")
    parser.add_argument("--quick", action="store_true", help="seconds, for the test suite")
    parser.add_argument("--only", default="peers,storm,scale,scale_exe,benches",
                        help="comma-separated sections (default: all)")
    parser.add_argument("--peers", help="comma-separated: vigild, monit, supervisord (default: all)")
    parser.add_argument("--no-idle", action="store_true", help="peers: detection only")
    parser.add_argument("--merge", action="store_true",
                        help="update --out in place: replace only what this run measured")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("compare.py: needs root (cgroups for vigild, drop_caches for fd_watch_bench)")
    cfg = dict(SETTINGS["quick" if args.quick else "full"])
    if args.no_idle:
        cfg["idle_ns"] = []
    sections = set(args.only.split(","))
    kids = Children()
    vigild = os.path.abspath(args.vigild)
    marker = os.path.abspath(args.marker)

    def on_signal(signum, _):
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every peer.stop()

    signal.signal(signal.SIGTERM, on_signal)
    results = dict(mode="quick" if args.quick else "full", machine=machine(), settings={
        k: v for k, v in cfg.items() if k != "monit_kills"}, skipped=[], timing={})
    results["settings"]["monit_kills"] = {str(k): v for k, v in cfg["monit_kills"].items()}
    began = time.monotonic()

    def save():
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)

    def timed(section, fn):
        t = time.monotonic()
        value = fn()
        if value is not None:  # in the file before the next section can fail
            results[section] = value
        timing = results["reruns"][-1] if args.merge else results["timing"]
        timing[section] = round(time.monotonic() - t, 1)
        save()  # a later section failing keeps what was measured
        return value

    if args.merge:
        with open(args.out) as f:
            previous = json.load(f)
        previous.setdefault("reruns", []).append(dict(
            date=results["machine"]["date"], loadavg=results["machine"]["loadavg"],
            what=f"sections {args.only}" + (f", peers {args.peers}" if args.peers else "")
            + (", detection only" if args.no_idle else "")))
        previous["timing"] = {**previous.get("timing", {})}
        results = previous

    if "peers" in sections:
        def peers():
            idle, detection = run_peers(kids, marker, vigild, cfg, results["skipped"],
                                        args.peers.split(",") if args.peers else None)
            fresh_idle = {(e["label"], e["n"]) for e in idle}
            fresh_detection = {d["label"] for d in detection}
            results["idle"] = [e for e in results.get("idle", [])
                               if (e["label"], e["n"]) not in fresh_idle] + idle
            results["detection"] = [d for d in results.get("detection", [])
                                    if d["label"] not in fresh_detection] + detection
        timed("peers", peers)
    if "storm" in sections:
        log(f"storm: {cfg['storm_units']} units x {cfg['storm_runs_per_unit']} runs")
        results["storm"] = timed("storm", lambda: storm(
            kids, marker, vigild, cfg["storm_units"], cfg["storm_runs_per_unit"]))
        log(f"storm: {results['storm']['exit_events']} exit events, "
            f"{results['storm']['runs_stamped']} runs")
    if "scale" in sections:
        log(f"scale: {cfg['scale_units']} units")
        results["scale"] = timed("scale", lambda: scale(
            kids, marker, vigild, cfg["scale_units"], cfg["scale_idle_s"]))
    if "scale_exe" in sections:
        log(f"scale_exe: {cfg['exe_before'] + cfg['exe_after']:,} processes of one executable")
        results["scale_exe"] = timed("scale_exe", lambda: scale_exe(kids, vigild, cfg))
    if "benches" in sections:
        if args.bench_dir:
            results["benches"] = timed("benches", lambda: run_benches(args.bench_dir,
                                                                      cfg["benches"]))
        else:
            results["skipped"].append("existing benches: no --bench-dir")
    with open("/proc/loadavg") as f:
        load_end = " ".join(f.read().split()[:3])
    if args.merge:
        results["reruns"][-1]["loadavg_end"] = load_end
    else:
        results["timing"]["total"] = round(time.monotonic() - began, 1)
        results["machine"]["loadavg_end"] = load_end
    save()
    log(f"wrote {args.out} ({time.monotonic() - began:.0f} s)")
    failed = [n for n, b in results.get("benches", {}).items() if b["status"] != 0]
    if failed:
        sys.exit(f"compare.py: benches failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
