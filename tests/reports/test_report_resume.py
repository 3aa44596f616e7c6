"""A sweep interrupted half-way and resumed gives the same data as an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import read, small_plan

from nnparity.reports.cli import main
from nnparity.reports.frame import to_frame
from nnparity.reports.sweep import sweep
from nnparity.scratch import SpecError

PLAN = small_plan()
TASKS = [(str(s), m) for s in PLAN.specs for m in PLAN.modes]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return sweep(
        TASKS, PLAN.steps, tmp_path_factory.mktemp("full") / "c.jsonl", jobs=1, progress=False
    )


def test_stopped_then_resumed_equals_uninterrupted(tmp_path, uninterrupted):
    ckpt = tmp_path / "c.jsonl"
    first = sweep(TASKS, PLAN.steps, ckpt, jobs=1, progress=False, limit=len(TASKS) // 2)
    assert len(first) == len(TASKS) // 2
    calls = []

    def counting(spec, mode, steps):
        from nnparity.reports.sweep import run_config

        calls.append((spec, mode))
        return run_config(spec, mode, steps)

    second = sweep(TASKS, PLAN.steps, ckpt, jobs=1, progress=False, resume=True, runner=counting)
    assert len(calls) == len(TASKS) - len(first)  # nothing finished is run again
    assert second == uninterrupted
    pd.testing.assert_frame_equal(to_frame(second), to_frame(uninterrupted))


def test_a_torn_checkpoint_line_is_run_again(tmp_path, uninterrupted):
    ckpt = tmp_path / "c.jsonl"
    sweep(TASKS, PLAN.steps, ckpt, jobs=1, progress=False)
    lines = ckpt.read_text().splitlines(keepends=True)
    half = len(lines) // 2
    ckpt.write_text("".join(lines[:half]) + lines[half][: len(lines[half]) // 2])
    resumed = sweep(TASKS, PLAN.steps, ckpt, jobs=1, progress=False, resume=True)
    assert resumed == uninterrupted
    assert all(json.loads(x) for x in ckpt.read_text().splitlines())


KILLED_RUN = """
import sys, time
sys.path.insert(0, {here!r})
from report_helpers import small_plan
from nnparity.reports.report import make_report
from nnparity.reports.sweep import run_config

def slow(spec, mode, steps):
    time.sleep(0.02)
    return run_config(spec, mode, steps)

make_report(small_plan(), {out!r}, jobs=1, progress=False, runner=slow)
"""


def test_killed_process_resumed_gives_identical_files(tmp_path, report):
    """A real kill (SIGKILL) of a report half-way, then ``nnparity report --resume``."""
    out = tmp_path / "killed"
    code = KILLED_RUN.format(here=str(Path(__file__).parent), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2])
    ckpt = out / "checkpoint.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.exists() and ckpt.read_text().count("\n") >= len(TASKS) // 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "records.csv").exists()
    toml = tmp_path / "m.toml"
    toml.write_text("specs = [\n" + ",\n".join(f'  "{s}"' for s in PLAN.specs) + "\n]\n")
    argv = ["report", "--matrix", str(toml), "--steps", str(PLAN.steps), "--out", str(out)]
    assert main([*argv, "--resume", "--jobs", "1", "--no-progress"]) == 0
    assert read(out / "records.csv") == read(report.files["csv"])
    md = read(out / "report.md").replace(str(toml).encode(), PLAN.name.encode())
    assert md == read(report.files["markdown"])


def test_resume_with_other_steps_is_refused(tmp_path):
    sweep(TASKS[:2], 1, tmp_path / "checkpoint.jsonl", jobs=1, progress=False, limit=1)
    with pytest.raises(SpecError, match="--steps 1"):
        sweep(TASKS[:2], 2, tmp_path / "checkpoint.jsonl", jobs=1, progress=False, resume=True)


def test_resume_without_a_checkpoint_runs_everything(tmp_path):
    out = sweep(TASKS[:3], 1, tmp_path / "c.jsonl", jobs=1, progress=False, resume=True)
    assert [o.key for o in out] == TASKS[:3]


def test_unreadable_checkpoint_lines_are_counted_and_run_again(tmp_path, uninterrupted):
    """The repro: damaged checkpoint lines were re-run silently; now the resume says how many."""
    ckpt = tmp_path / "c.jsonl"
    sweep(TASKS, PLAN.steps, ckpt, jobs=1, progress=False)
    lines = ckpt.read_text().splitlines(keepends=True)
    good = json.loads(lines[3])
    lines[2] = "{not json\n"
    lines[3] = json.dumps({**good, "status": "maybe"}) + "\n"  # an unknown status
    lines[4] = json.dumps({**json.loads(lines[4]), "records": [[1, 2]]}) + "\n"  # a short record
    lines.insert(5, "\n")  # a blank line is not damage
    ckpt.write_text("".join(lines))
    notes: list[str] = []
    calls = []

    def counting(spec, mode, steps):
        from nnparity.reports.sweep import run_config

        calls.append((spec, mode))
        return run_config(spec, mode, steps)

    resumed = sweep(TASKS, PLAN.steps, ckpt, jobs=1, progress=False, resume=True,
                    runner=counting, log=notes.append)  # fmt: skip
    assert resumed == uninterrupted and len(calls) == 3
    assert (
        f"warning: 3 unreadable checkpoint lines will be re-run (torn or damaged lines in {ckpt})"
        in notes
    )  # noqa: E501
    assert notes[0] == (
        f"resuming: {len(TASKS) - 3} of the {len(TASKS)} configurations are finished in "
        f"{ckpt}; running the other 3"
    )
