"""No process outlives a check: the checker's process is a child subreaper (Linux), so every
process the learner starts stays below it, even one that calls ``setsid`` or whose parent
exits (an orphan is re-parented to the nearest subreaper); ``kill_descendants`` kills them all
at the end. The checker is also made non-dumpable, so a process of the same user that is not
root cannot open its memory or its descriptors under ``/proc`` (where the result pipe is).
Elsewhere (no ``prctl``) both are skipped and ``guard()`` says so.
"""

from __future__ import annotations

import os
import signal
import time

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def guard() -> bool:
    """Make this process a subreaper and non-dumpable; whether both took effect."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1) & _prctl(PR_SET_DUMPABLE, 0)


def descendants(root: int) -> list[int]:
    """The processes below ``root`` (by their parent in ``/proc``), parents first."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for n in names:
        if not n.isdigit():
            continue
        try:
            with open(f"/proc/{n}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(n))
    out, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def kill_descendants(rounds: int = 100) -> int:
    """SIGKILL every process below this one and reap them, until none is left (a process may
    fork while the first ones are killed); the number killed."""
    me, killed = os.getpid(), 0
    for _ in range(rounds):
        found = descendants(me)
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        reap()
        if not found:
            return killed
        time.sleep(0.005)
    return killed


def reap() -> None:
    """Collect every exited child (orphans re-parented here included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
