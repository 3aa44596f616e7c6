"""Worker processes end with the main process, even when it is killed with kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from report_helpers import small_plan

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="finds the worker processes through /proc"
)


def _state(pid: int) -> tuple[int, str] | None:
    """(parent PID, state letter) of ``pid``; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0]


def _alive(pid: int) -> bool:
    s = _state(pid)
    return s is not None and s[1] not in "ZX"  # a zombie has ended, only unreaped


def _workers(parent: int) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (s := _state(int(d.name))) is not None and s[0] == parent:
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmd:
                found.append(int(d.name))
    return found


def _wait_gone(pids: list[int], within: float = 10.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_workers_die_when_the_report_is_killed(tmp_path):
    """The repro: after kill -9 of ``nnparity report --jobs 2`` its two workers (~320 MB each)
    lived on."""
    toml = tmp_path / "m.toml"
    specs = [str(s) for s in small_plan().specs[:4]]
    toml.write_text("specs = [\n" + ",\n".join(f'  "{s}"' for s in specs) + "\n]\nsteps = 3000\n")
    cmd = [sys.executable, "-m", "nnparity", "report", "--matrix", str(toml), "--jobs", "2",
           "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
            time.sleep(0.1)
            workers = _workers(proc.pid)
        assert len(workers) == 2, "the report did not start its two workers"
        time.sleep(1.0)  # let them reach their initializer
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_gone(workers) == [], "workers outlived the killed report"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


ORPHAN = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", {grandchild!r}], stdout=subprocess.PIPE)
print(child.pid, flush=True)
child.stdout.readline()  # the grandchild is watching
print("ready", flush=True)
import time
time.sleep(120)
"""
GRANDCHILD = """
import os, time
import nnparity.reports.sweep as sweep
sweep._pdeathsig = lambda: False  # only the portable fallback: the polling thread
sweep.die_with(os.getppid(), every=0.05)
print("watching", flush=True)
time.sleep(120)
"""


def test_the_portable_fallback_alone_ends_an_orphaned_worker(tmp_path):
    code = ORPHAN.format(grandchild=GRANDCHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    try:
        assert proc.stdout.readline().strip() == b"ready"
        assert _alive(grandchild)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_gone([grandchild]) == []
    finally:
        if _alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    code = "import os, nnparity.reports.sweep as s; s.die_with(os.getppid() + 1); print('alive')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert out.returncode == 1 and b"alive" not in out.stdout
