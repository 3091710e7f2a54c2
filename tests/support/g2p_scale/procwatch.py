"""Peak memory of every process of a server, recycled and killed ones too.

A thread walks ``/proc`` a few times a second, finds every descendant of the
server's main process (its workers, their wkhtmltopdf children) and keeps the
largest ``VmHWM`` (the kernel's own peak-RSS mark, so a short spike between two
samples is not missed) seen for each pid. Odoo recycles workers (memory soft
limit, request count) and the queue_job runner kills nothing, but a benchmark
may: a pid's last sample stays in the table after it is gone.

Roles come from the Odoo log ("Worker WorkerHTTP (1234) alive").
"""

import os
import re
import threading
import time

_ALIVE_RE = re.compile(r"Worker (\w+) \((\d+)\) alive")
_TIMEOUT_RE = re.compile(r"(\w+) \((\d+)\) timeout after (\d+)s")
_MEMORY_RE = re.compile(r"Worker \((\d+)\) virtual memory limit \((\d+)\) reached")
_CPU_RE = re.compile(r"Worker \((\d+)\) CPU time limit \((\d+)\) reached")


def _read_status(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, _sep, rest = line.partition(":")
                if key in ("Name", "PPid", "VmHWM", "VmRSS"):
                    values[key] = rest.strip()
    except OSError:
        return None
    return values


def _label(pid, name):
    """Process name; Odoo's websocket server is "python ... odoo-bin gevent"."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return name
    return "gevent (websocket)" if b"gevent" in argv[1:3] else name


def _kib(text):
    return int(text.split()[0]) if text else 0


def children_map():
    """{parent pid: [child pids]} of every process visible in /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        status = _read_status(int(entry))
        if status and "PPid" in status:
            children.setdefault(int(status["PPid"]), []).append(int(entry))
    return children


def descendants(root_pid, children=None):
    children = children_map() if children is None else children
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, ()):
            found.append(child)
            todo.append(child)
    return found


class ProcessWatch(threading.Thread):
    """Samples the process tree of ``root_pid`` until ``stop()``."""

    def __init__(self, root_pid, interval=0.25):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peaks = {}  # pid -> {"name", "parent", "hwm_kib", "rss_kib", "last"}
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def sample(self):
        children = children_map()
        now = time.monotonic()
        for pid in [self.root_pid, *descendants(self.root_pid, children)]:
            status = _read_status(pid)
            if not status:
                continue
            with self._lock:
                entry = self.peaks.get(pid)
                if entry is None:
                    entry = self.peaks[pid] = {
                        "name": _label(pid, status.get("Name", "?")),
                        "parent": int(status["PPid"]),
                        "hwm_kib": 0,
                        "rss_kib": 0,
                        "first": now,
                        "comm": status.get("Name"),
                    }
                elif entry["comm"] != status.get("Name"):
                    # exec() after fork: the forked copy's pages (a whole
                    # worker's RSS) are not the new program's; its peak
                    # starts afresh.
                    entry.update(
                        name=_label(pid, status.get("Name", "?")),
                        comm=status.get("Name"),
                        hwm_kib=0,
                    )
                entry["hwm_kib"] = max(entry["hwm_kib"], _kib(status.get("VmHWM")))
                entry["rss_kib"] = _kib(status.get("VmRSS"))
                entry["last"] = now

    def reset_peaks(self):
        """Start every live process's VmHWM afresh (``clear_refs`` 5), so a run
        measures its own peak, not an earlier run's."""
        for pid in [self.root_pid, *descendants(self.root_pid)]:
            try:
                with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
                    fh.write("5")
            except OSError:
                continue  # gone, or not ours: its peak stays cumulative
        with self._lock:
            self.peaks.clear()

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)
        self.sample()

    def snapshot(self):
        with self._lock:
            return {pid: dict(entry) for pid, entry in self.peaks.items()}


def worker_roles(log_text):
    """{pid: Odoo worker class} from the server log ("... alive" lines)."""
    return {int(pid): role for role, pid in _ALIVE_RE.findall(log_text)}


def limit_events(log_text):
    """Workers Odoo stopped for a limit: [(pid, what)], in log order."""
    events = []
    for line in log_text.splitlines():
        match = _TIMEOUT_RE.search(line)
        if match:
            what = f"limit_time_real ({match.group(3)} s)"
            events.append((int(match.group(2)), what))
            continue
        match = _MEMORY_RE.search(line)
        if match:
            events.append((int(match.group(1)), "limit_memory_soft (recycled)"))
            continue
        match = _CPU_RE.search(line)
        if match:
            events.append((int(match.group(1)), f"limit_time_cpu ({match.group(2)} s)"))
        elif "MemoryError" in line:
            events.append((0, "MemoryError (limit_memory_hard)"))
    return events


def roles_table(snapshot, roles, root_pid):
    """Rows (role, pid, peak MiB) for the server's main process, its workers
    and the largest helper process (wkhtmltopdf) of all."""
    rows = []
    helpers = []
    for pid, entry in sorted(snapshot.items()):
        mib = entry["hwm_kib"] / 1024.0
        if pid == root_pid:
            rows.append(("main", pid, mib))
        elif entry["parent"] == root_pid:
            rows.append((roles.get(pid, entry["name"]), pid, mib))
        elif entry.get("comm") != snapshot.get(entry["parent"], {}).get("comm"):
            # (A child still named like its parent was only seen between fork
            # and exec: its pages are the worker's, not a helper's.)
            helpers.append((entry["name"], pid, mib))
    if helpers:
        name, pid, mib = max(helpers, key=lambda row: row[2])
        rows.append((f"{name} (largest of {len(helpers)})", pid, mib))
    return rows


def process_cpu_seconds(pid):
    """CPU seconds of ``pid`` and of its waited-for dead children."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command: state is field 3; utime, stime, cutime, cstime are 14-17.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root_pid):
    """CPU seconds used so far by ``root_pid``'s whole process tree.

    A live process counts its own time, a dead one is in its parent's
    cutime/cstime once waited for (Odoo waits for its recycled workers, a
    worker for its wkhtmltopdf, the postmaster for its backends), so the
    difference between two readings is what the tree spent in between, less
    only what died unwaited in between. Unlike wall time it barely depends
    on other load on the machine.
    """
    return sum(process_cpu_seconds(pid) for pid in [root_pid, *descendants(root_pid)])


def postmaster_pid(datadir):
    """The PostgreSQL server's pid, from its ``postmaster.pid`` (or None)."""
    try:
        with open(os.path.join(datadir, "postmaster.pid"), encoding="ascii") as fh:
            return int(fh.readline().strip())
    except (OSError, ValueError):
        return None
