"""``make_report``: sweep a plan, build the tidy frame and write every rendering of it.

Files in the output folder: ``report.md``, ``report.html`` (self-contained), ``records.csv``
(and ``records.parquet`` with pyarrow), ``heatmap_<dtype>.png``, ``divergence_vs_step.png``,
and while the sweep runs ``checkpoint.jsonl``, what ``--resume`` continues from (removed once
the report holds every configuration; a replaced one is kept as ``checkpoint.jsonl.bak``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nnparity.scratch.errors import NNParityError

from .budget import check
from .data import write_tables
from .frame import join, to_tables
from .lock import locked
from .matrix_file import Plan
from .pages import write_all
from .summary import summary
from .sweep import Runner, note, run_config, sweep, with_framework
from .verdict import highlights, verdict


@dataclass(frozen=True)
class Report:
    """What ``make_report`` wrote: the files by kind, the frame and the summary paragraph."""

    out: Path
    files: dict[str, Path]
    frame: pd.DataFrame
    summary: str
    configurations: int
    finished: int
    verdict: str = ""  # the first line: how many agree, disagree, diverged alike
    highlights: tuple[str, ...] = ()  # closest to tolerance (with its replay), float32 drift

    @property
    def ok(self) -> bool:
        """True when every configuration ran and none failed or raised."""
        status = self.frame.drop_duplicates("config")["status"]
        return self.finished == self.configurations and status.isin(("pass", "diverged")).all()

    @property
    def exit_code(self) -> int:
        """What ``nnparity report`` exits with: 1 when a configuration failed parity; else 2
        when one could not be judged (it raised, or did not run); else 0 (every one agreed)."""
        status = set(self.frame.drop_duplicates("config")["status"])
        if "fail" in status:
            return 1
        return 0 if self.ok else 2


class OutputError(NNParityError):
    """The output folder cannot be made or written."""


CHECKPOINT = "checkpoint.jsonl"
DTYPES = ("float32", "float64")
OWNED = (
    "report.md",
    "report.html",
    "records.csv",
    "records.parquet",
    "configurations.csv",
    "configurations.parquet",
    "tolerances.csv",
    *(f"heatmap_{d}.png" for d in DTYPES),
    "divergence_vs_step.png",
)  # what a report writes; a rerun removes those it did not write this time


def make_report(
    plan: Plan,
    out: str | Path,
    *,
    jobs: int | None = None,
    resume: bool = False,
    progress: bool = True,
    limit: int | None = None,
    runner: Runner = run_config,
    log: Callable[[str], None] | None = None,
    allow_long: bool = False,
    against: tuple[str, ...] = ("torch",),
    scheduler: str | None = None,
) -> Report:
    """Sweep ``plan`` (see ``sweep.sweep`` for the keywords), write the report into ``out``;
    return a ``Report``.

    The files of an earlier report in ``out`` that this one did not write are removed (only
    the names in ``OWNED``); the checkpoint is removed once every configuration is in the
    report. Refused up front (``budget.ResourceError``) when the sweep cannot fit in memory,
    or exceeds the step and time limits without ``allow_long``; ``lock.FolderBusy`` while
    another report writes ``out``; ``OutputError`` when ``out`` cannot be made or written.
    ``against``: the frameworks each configuration is held to (``sweep.with_framework``)."""
    check(plan.specs, len(plan.modes) * len(against), plan.steps, jobs, allow_long=allow_long)
    out = Path(out)
    _prepare(out)
    tasks = [
        (str(s), with_framework(m, fw)) for s in plan.specs for m in plan.modes for fw in against
    ]
    try:
        with locked(out, log or note):
            outcomes = sweep(
                tasks,
                plan.steps,
                out / CHECKPOINT,
                jobs=jobs,
                resume=resume,
                progress=progress,
                limit=limit,
                runner=runner,
                log=log,
                scheduler=scheduler,
            )
            configurations, records = to_tables(outcomes)
            frame = join(configurations, records)
            text = summary(frame, plan, len(tasks), outcomes)
            lead = (verdict(frame, len(tasks)), *highlights(frame))
            files = write_all(frame, plan, text, out, lead)
            files.update(write_tables(configurations, records, out))
            for name in OWNED:
                if out / name not in files.values():
                    (out / name).unlink(missing_ok=True)
            if len(outcomes) == len(set(tasks)):
                (out / CHECKPOINT).unlink(missing_ok=True)  # complete: nothing left to resume
    except OSError as e:
        where = Path(e.filename).resolve() if e.filename is not None else None
        if where is None or (where != out.resolve() and out.resolve() not in where.parents):
            raise  # not the output folder's fault
        raise OutputError(f"cannot write {e.filename}: {e.strerror}") from None
    return Report(out, files, frame, text, len(tasks), len(outcomes), lead[0], lead[1:])


def _prepare(out: Path) -> None:
    """Make the output folder; ``OutputError`` naming the problem when it cannot be."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} is a file, not a folder; choose another path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        block = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        why = f"{str(block)!r} is a file" if block is not None else e.strerror
        raise OutputError(f"cannot make the folder --out {str(out)!r}: {why}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into --out {str(out)!r}: permission denied")
