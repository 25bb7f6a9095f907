"""How much of the machine's CPU went to processes that are not part of the benchmark during a phase.

The bench shares the machine with whatever else runs (a test suite, an editor's language server...), and a
busy neighbour silently lowers every number. Linux only (/proc); elsewhere every call returns None.

"Ours" = this process and its finished children (wrk, the generator), the gunicorn master, its live
workers and its finished workers, the PostgreSQL backends connected to the bench database, and Redis.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")


@dataclass
class Snapshot:
    total: int
    busy: int
    ours: dict[int, int]  # pid → CPU ticks so far (a process may exit between two snapshots)
    at: float


def _proc_times(pid: int, with_children: bool = False) -> int:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0
    fields = raw.rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime/stime/cutime/cstime are fields 14..17
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return utime + stime + ((cutime + cstime) if with_children else 0)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # field 4: ppid
            found.append(int(entry.name))
    return found


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def snapshot(
    server_pid: int | None, db_backend_pids: list[int], other_pids: tuple[int, ...] = ()
) -> Snapshot | None:
    """``server_pid`` and ``other_pids`` (the provider server, the task worker) count with their children."""
    try:
        first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(x) for x in first[:8]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    total = sum(values)
    busy = user + nice + system + irq + softirq + steal
    ours = {os.getpid(): _proc_times(os.getpid(), with_children=True)}
    for pid in (server_pid, *other_pids):
        if pid:
            ours[pid] = _proc_times(pid, with_children=True)
            ours.update({child: _proc_times(child) for child in _children(pid)})
    ours.update({pid: _proc_times(pid) for pid in db_backend_pids})
    ours.update({pid: _proc_times(pid) for pid in _pids_named("redis-server")})
    return Snapshot(total=total, busy=busy, ours=ours, at=time.monotonic())


def foreign_share(before: Snapshot | None, after: Snapshot | None) -> dict[str, Any] | None:
    """Share of the whole machine's CPU used by others (0..1), and by the benchmark, between two snapshots."""
    if before is None or after is None or after.total <= before.total:
        return None
    total = after.total - before.total
    busy = after.busy - before.busy
    # Per process: one that started in between counts from zero; one that exited (e.g. a database
    # connection closed after CONN_MAX_AGE) is left out rather than counted as negative.
    ours = sum(max(0, ticks - before.ours.get(pid, 0)) for pid, ticks in after.ours.items())
    return {
        "machine_busy": round(busy / total, 3),
        "bench": round(min(busy, ours) / total, 3),
        "foreign": round(max(0, busy - ours) / total, 3),
    }
