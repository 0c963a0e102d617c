"""The measuring process's own peak RSS.

getrusage's ru_maxrss is no use in a benchmark's child: Linux carries the parent's high-water mark across
fork/exec, so a child spawned by a parent that has just built a million-item store reports the parent's peak.
/proc/self/status's VmHWM belongs to the process's own memory map, which exec replaces."""

from __future__ import annotations

import resource


def peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # not Linux: the best there is
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
