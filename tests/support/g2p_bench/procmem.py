"""Memory of a process, read from /proc (Linux)."""

import re
from pathlib import Path

MIB = 1024.0


def status_kib(field, pid="self"):
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def rss_mib(pid="self"):
    return status_kib("VmRSS", pid) / MIB


def peak_mib():
    return status_kib("VmHWM") / MIB


def reset_peak():
    """Start VmHWM again from the current RSS (Linux clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")
