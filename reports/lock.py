"""An exclusive lock on a report's output folder, so two sweeps never write one folder.

``locked(folder)`` holds ``fcntl.flock`` on ``folder/.nnparity-report.lock``, a file holding
the holder's PID (for the message a second run gets). The kernel drops the lock when its
process ends in any way, ``kill -9`` included: a lock file left behind names a PID that no
longer holds it, and the next run takes it over and says so. The file is removed on release
(normal exit, an exception, Ctrl-C). POSIX only: where ``fcntl`` is missing (Windows) no lock
is taken.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nnparity.scratch.errors import NNParityError

LOCK = ".nnparity-report.lock"


class FolderBusy(NNParityError):
    """Another ``nnparity report`` is writing the output folder."""


@contextmanager
def locked(folder: str | os.PathLike[str], log: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock on ``folder`` for the ``with`` block; ``FolderBusy`` naming the holder's
    PID when another process holds it. ``log`` hears that a stale lock was taken over."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(folder) / LOCK
    fd, stale = _acquire(path, fcntl)
    if stale and stale != str(os.getpid()):
        log(
            f"taking over the lock on {str(folder)!r} left by PID {stale}, which ended "
            "without releasing it (killed?)"
        )
    try:
        yield
    finally:
        try:
            os.unlink(path)  # while still holding it: a waiting opener sees the file gone
        except FileNotFoundError:
            pass
        os.close(fd)


def _acquire(path: Path, fcntl) -> tuple[int, str]:  # noqa: ANN001 - the fcntl module
    """The open, locked file descriptor, and the PID text an earlier holder left in it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _pid(fd) or "unknown"
            os.close(fd)
            raise FolderBusy(
                f"--out {str(path.parent)!r} is being written by nnparity report (PID "
                f"{holder}); wait for it or choose another --out"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: again
    stale = _pid(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd, stale


def _pid(fd: int) -> str:
    """The PID written in the lock file ("" when empty or unreadable)."""
    text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else ""
