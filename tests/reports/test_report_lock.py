"""One report at a time per output folder: a second one refuses with the holder's PID; the
lock goes with its holder (normal exit, an exception, Ctrl-C, kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from report_helpers import small_plan

from nnparity.reports.cli import main
from nnparity.reports.lock import LOCK, FolderBusy, locked
from nnparity.reports.report import make_report

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX flock")
ROOT = Path(__file__).parents[2]
SPECS = [str(s) for s in small_plan().specs[:2]]


def _toml(tmp_path: Path) -> Path:
    p = tmp_path / "m.toml"
    p.write_text("specs = [\n" + ",\n".join(f'  "{s}"' for s in SPECS) + "\n]\nsteps = 1\n")
    return p


def test_a_held_lock_refuses_a_second_holder_with_the_pid(tmp_path):
    notes: list[str] = []
    with locked(tmp_path, notes.append):
        assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
        with pytest.raises(FolderBusy, match=rf"\(PID {os.getpid()}\); wait for it or choose"):
            with locked(tmp_path, notes.append):
                pass  # pragma: no cover
    assert not (tmp_path / LOCK).exists() and notes == []
    with locked(tmp_path, notes.append):  # free again
        pass


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError), locked(tmp_path, print):
        raise RuntimeError("boom")
    with locked(tmp_path, print):
        assert (tmp_path / LOCK).exists()


def test_a_stale_lock_is_taken_over_and_said(tmp_path):
    (tmp_path / LOCK).write_text("999999999\n")  # left by a killed run: nobody holds it
    notes: list[str] = []
    with locked(tmp_path, notes.append):
        assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
    assert len(notes) == 1 and "left by PID 999999999" in notes[0]


HOLDER = """
import signal, sys, time
# Ctrl-C as a shell gives it: a parent that ignores SIGINT (a test runner's worker) passes
# that on to its children
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {here!r})
from report_helpers import small_plan
from nnparity.reports.report import make_report
from nnparity.reports.sweep import run_config

def slow(spec, mode, steps):
    time.sleep(0.5)
    return run_config(spec, mode, steps)

make_report(small_plan(), {out!r}, jobs=1, progress=False, runner=slow)
"""


def _start_holder(out: Path) -> subprocess.Popen:
    code = HOLDER.format(here=str(Path(__file__).parent), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        ckpt = out / "checkpoint.jsonl"
        if ckpt.exists() and ckpt.read_text().count("\n") >= 2:  # header + one configuration
            return proc
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.fail("the first report did not start")


def test_a_second_report_into_a_busy_out_refuses_then_takes_over_after_kill_9(tmp_path, capsys):
    """The repro: a second report into the same --out used to delete the first one's live
    checkpoint, so that a later --resume had nothing to resume."""
    out = tmp_path / "out"
    proc = _start_holder(out)
    try:
        argv = ["report", "--matrix", str(_toml(tmp_path)), "--out", str(out), "--no-progress"]
        assert main([*argv, "--jobs", "1"]) == 2
        err = capsys.readouterr().err
        assert f"is being written by nnparity report (PID {proc.pid})" in err
        assert "wait for it or choose another --out" in err and "Traceback" not in err
        assert not (out / "checkpoint.jsonl.bak").exists()
        lines = (out / "checkpoint.jsonl").read_text().count("\n")
        assert lines >= 2  # the first run's checkpoint is intact
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (out / LOCK).read_text() == f"{proc.pid}\n"  # left behind by kill -9
    assert main([*argv, "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert f"taking over the lock on {str(out)!r} left by PID {proc.pid}" in err
    assert not (out / LOCK).exists()


def test_ctrl_c_releases_the_lock(tmp_path):
    out = tmp_path / "out"
    proc = _start_holder(out)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) != 0
    assert not (out / LOCK).exists()
    notes: list[str] = []
    plan = small_plan()
    make_report(plan.__class__("one", plan.specs[:1], plan.steps), out, jobs=1,
                progress=False, resume=True, log=notes.append)  # fmt: skip
    assert not any("taking over" in n for n in notes)
