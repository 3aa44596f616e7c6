"""The sweep's checkpoint: a JSON Lines file in the output folder, one line per finished
configuration, appended (and flushed) as each finishes, so an interrupted sweep loses nothing.

The first line is a header naming the format, the steps and the record fields; each further
line is ``{"spec", "mode", "error", "status", "records": [[field values...], ...]}``. A torn
last line (the process killed while writing it) is dropped when the file is read back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nnparity.scratch import SpecError

from .atomic import write_text

FORMAT = "nnparity-report-checkpoint"
VERSION = 1
FIELDS = (
    "step",
    "stage",
    "tensor",
    "shape",
    "numel",
    "max_abs",
    "max_rel",
    "tol_used",
    "passed",
    "judged_by",
    "nonfinite",
    "mismatched",
    "rtol",
    "atol",
    "scratch_value",
    "torch_value",
    "oracle_scratch",
    "oracle_torch",
)
STATUSES = ("pass", "fail", "diverged", "error")


@dataclass(frozen=True)
class Outcome:
    """One configuration's result: its records (tuples in ``FIELDS`` order), a status (pass,
    fail, diverged: non-finite on both sides, error: it raised) and the error message."""

    spec: str
    mode: str
    status: str
    records: tuple[tuple[Any, ...], ...] = ()
    error: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(spec, mode): what the checkpoint knows a configuration by."""
        return (self.spec, self.mode)

    def to_json(self) -> str:
        """One checkpoint line (no newline)."""
        d = {"spec": self.spec, "mode": self.mode, "status": self.status, "error": self.error}
        return json.dumps({**d, "records": [list(r) for r in self.records]})

    @classmethod
    def from_json(cls, line: str) -> Outcome:
        """The outcome written by ``to_json``."""
        d = json.loads(line)
        recs = tuple(tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in d["records"])
        return cls(d["spec"], d["mode"], d["status"], recs, d["error"])


def _outcome(line: str) -> Outcome | None:
    """The outcome on a checkpoint line, or None when the line cannot be read as one: not
    JSON, a missing key, an unknown status, a record of the wrong length."""
    try:
        o = Outcome.from_json(line)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    ok = (
        isinstance(o.spec, str)
        and isinstance(o.mode, str)
        and isinstance(o.error, str)
        and o.status in STATUSES
        and all(len(r) == len(FIELDS) for r in o.records)
    )
    return o if ok else None


def _header(steps: int) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "steps": steps, "fields": list(FIELDS)}


class Checkpoint:
    """Append-only record of finished configurations in ``path``."""

    def __init__(self, path: str | os.PathLike[str], steps: int) -> None:
        self.path = Path(path)
        self.steps = steps
        self._file: IO[str] | None = None

    def open(
        self, resume: bool, tasks: Collection[tuple[str, str]] = ()
    ) -> tuple[dict[tuple[str, str], Outcome], list[str]]:
        """Start the file; return the outcomes kept from it and notes for the user.

        Fresh unless ``resume``: an existing checkpoint holding finished configurations (an
        unfinished sweep) is first moved to ``<name>.bak``. With ``resume`` the configurations
        among ``tasks`` are kept and the others dropped, the old file then kept as
        ``<name>.bak``; the notes say how many matched."""
        done: dict[tuple[str, str], Outcome] = {}
        notes: list[str] = []
        lines = [json.dumps(_header(self.steps))]
        wanted = set(tasks)
        if resume and self.path.exists():
            found, kept, unreadable = self._read()
            done = {k: o for k, o in found.items() if k in wanted}
            lines += [line for line, k in zip(kept, found, strict=True) if k in wanted]
            foreign = len(found) - len(done)
            if foreign:
                os.replace(self.path, self.backup)
            if not done and found:
                notes.append(
                    f"warning: none of the {len(found)} configurations in {self.path} is in "
                    f"this matrix (made with another matrix, --seed or specs?): running all "
                    f"{len(wanted)}; the old checkpoint is kept as {self.backup}"
                )
            else:
                notes.append(
                    f"resuming: {len(done)} of the {len(wanted)} configurations are finished "
                    f"in {self.path}; running the other {len(wanted) - len(done)}"
                )
            if unreadable:
                s = "s" if unreadable > 1 else ""
                notes.append(
                    f"warning: {unreadable} unreadable checkpoint line{s} will be re-run (torn "
                    f"or damaged line{s} in {self.path})"
                )
            if foreign and done:
                notes.append(
                    f"warning: {foreign} of the {len(found)} configurations in the checkpoint "
                    "are not in this matrix (another matrix, --seed or specs?): they are "
                    f"dropped, the old checkpoint kept as {self.backup}"
                )
        elif resume:
            notes.append(
                f"warning: nothing to resume: no {self.path} (a complete report removes it); "
                "running everything"
            )
        elif (n := self._count()) > 0:
            os.replace(self.path, self.backup)
            notes.append(
                f"warning: {self.path} held an unfinished sweep ({n} configuration"
                f"{'s' if n > 1 else ''}); starting over, the old checkpoint kept as "
                f"{self.backup} (--resume would have continued it)"
            )
        write_text(self.path, "\n".join(lines) + "\n")  # drops a torn last line, if any
        self._file = self.path.open("a", encoding="utf-8")
        return done, notes

    @property
    def backup(self) -> Path:
        """Where a replaced checkpoint is kept: ``checkpoint.jsonl.bak``."""
        return self.path.with_name(self.path.name + ".bak")

    def _count(self) -> int:
        """Lines after the header in an existing file (0 when there is none)."""
        try:
            with self.path.open("rb") as f:
                return max(0, sum(1 for line in f if line.strip()) - 1)
        except FileNotFoundError:
            return 0

    def _read(self) -> tuple[dict[tuple[str, str], Outcome], list[str], int]:
        """The outcomes in the file, their lines, and how many lines could not be read."""
        text = self.path.read_text(encoding="utf-8").split("\n")
        try:
            head = json.loads(text[0])
        except (json.JSONDecodeError, IndexError):
            head = {}
        if head.get("format") != FORMAT or head.get("fields") != list(FIELDS):
            raise SpecError(
                f"{self.path} is not a checkpoint this version of nnparity can resume; "
                "run without --resume to start over"
            )
        if head.get("steps") != self.steps:
            raise SpecError(
                f"{self.path} was made with --steps {head.get('steps')}; resume with "
                f"--steps {head.get('steps')}, or run without --resume to start over"
            )
        done: dict[tuple[str, str], Outcome] = {}
        kept: dict[tuple[str, str], str] = {}
        unreadable = 0
        for line in text[1:]:
            o = _outcome(line)
            if o is None:  # torn (a killed process) or damaged: that configuration runs again
                unreadable += bool(line.strip())
                continue
            done[o.key] = o
            kept[o.key] = line
        return done, list(kept.values()), unreadable

    def append(self, outcome: Outcome) -> None:
        """Write one finished configuration and flush it to the operating system."""
        assert self._file is not None, "open() the checkpoint first"
        self._file.write(outcome.to_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (the outcomes appended so far stay)."""
        if self._file is not None:
            self._file.close()
            self._file = None
