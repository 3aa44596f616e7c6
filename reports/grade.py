"""Batch checks: ``nnparity check PATH... --out DIR`` grades a class.

``submissions(paths)``: files, folders (each ``*.py`` under them that defines the adapter
function, ``nnparity_adapter`` or ``:NAME``) and globs. Each submission is checked as one
``nnparity check FILE`` is (``sandbox.run_isolated``: its own child process in a temporary copy
of its folder, wall-time, CPU-time and memory limits, stdin at end of file, output captured),
``jobs`` at a time on the executor (``executor.open_executor``: threads waiting on the
children locally, or dask workers with ``scheduler``). One that hangs, crashes, exhausts
memory or deletes files becomes a row (``timeout``, ``crashed``, ``memory``, ...), never the
batch's end.

``--resume`` keeps the verdict rows of ``DIR/grades.csv`` whose content hash still matches:
the hash covers the submission's file, every Python file of its folder and below, the check's
options and limits and nnparity's version, so only new, changed or limit-stopped submissions
run. Every output file is rewritten after each finished submission, so an interrupted batch
resumes and its files agree. A match passes a class only where a backward pass was checked:
not for an adapter that hands over its forward pass alone, nor where the submission imported
an autodiff framework (the row says why).
"""

from __future__ import annotations

import ast
import csv
import difflib
import glob
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

ADAPTER = "nnparity_adapter"
REPORTS = "reports"  # DIR/reports/<submission>.txt: each submission's full report
STATUS_ORDER = {"internal": 3, "unusable": 2, "exited": 2, "crashed": 2, "timeout": 2}


@dataclass(frozen=True)
class Row:
    """One submission's grade: ``status`` is ``verdict`` or why none came (the sandbox's
    statuses); ``code`` and ``training`` the two answers; ``finding``, ``layer``, ``step`` the
    first finding; ``seconds`` the check's wall time; ``error`` what stopped it; ``report`` the
    full report's path relative to DIR; ``hash`` the content hash (``--resume``)."""

    file: str
    status: str
    code: str = ""
    training: str = ""
    finding: str = ""
    layer: str = ""
    step: str = ""
    seconds: str = ""
    error: str = ""
    report: str = ""
    hash: str = ""
    passed: str = ""  # "1" when the submission passes (code match, and fits if required)
    style: str = ""  # the adapter's style: what of the submission was checked
    framework: str = ""  # the autodiff frameworks it imported (torch, jax, ...)

    def exit_code(self) -> int:
        """As ``nnparity check FILE``: 0 pass, 1 another verdict, 2 no verdict, 3 internal."""
        if self.status == "verdict":
            return 0 if self.passed == "1" else 1
        return STATUS_ORDER.get(self.status, 2)


COLUMNS = [f.name for f in fields(Row)]


def submissions(paths: Iterable[str], name: str = "") -> tuple[list[Path], list[str]]:
    """The submission files ``paths`` name (sorted, each once) and what was said about them:
    a file is a submission; a folder holds those of its ``*.py`` files (at any depth) that
    define ``name`` (default ``nnparity_adapter``); a glob expands to files and folders. A
    path that matches nothing is said."""
    want = name or ADAPTER
    found: dict[Path, None] = {}
    notes: list[str] = []
    for text in paths:
        expanded = sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]
        hits = 0
        for p in map(Path, expanded):
            if p.is_file():
                found[p.absolute()] = None  # as submitted: a link keeps its own name (s54 F10)
                hits += 1
            elif p.is_dir():
                for f in sorted(p.rglob("*.py")):
                    if _skip(f, p):
                        continue
                    if not _defines(f, want):
                        if near := _near(f, want):  # review s54 F9: a row lost in silence
                            notes.append(f"{f}: defines {near}(), not {want}(): not graded")
                        continue
                    found[f.absolute()] = None
                    hits += 1
        if not hits:
            notes.append(f"{text}: no submission found (no file, or no .py defining {want}())")
    return list(found), notes


def _skip(f: Path, root: Path) -> bool:
    from nnparity.reference.learner.workspace import SKIP_DIRS

    return any(part in SKIP_DIRS for part in f.relative_to(root).parts[:-1])


def _near(f: Path, name: str) -> str | None:
    """A top-level function of ``f`` whose name is nearly ``name`` (a misspelling)."""
    try:
        tree = ast.parse(f.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    defs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    defs += [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
             if isinstance(t, ast.Name)]  # fmt: skip  # (s58 F10: nnparity_adaptor = make)
    close = difflib.get_close_matches(name, defs, n=1, cutoff=0.8)
    return close[0] if close else None


def _defines(f: Path, name: str) -> bool:
    """``f``'s text defines, assigns or imports ``name`` at top level (read, never run)."""
    try:
        data = f.read_bytes()
    except OSError:
        return False
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return name.encode() in data  # a broken submission is still graded (as unusable)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        elif isinstance(node, ast.ImportFrom):
            if any((a.asname or a.name) == name for a in node.names):
                return True
    return False


def content_hash(file: Path, options: dict[str, Any]) -> str:
    """SHA-256 of ``file``, every ``.py`` file of its folder and below (the copy it runs in:
    a module it imports by a relative import, a package's ``__init__``, ``importlib``),
    ``options`` and nnparity's version: what decides a submission's grade."""
    from nnparity import __version__

    h = hashlib.sha256(json.dumps([options, __version__], sort_keys=True, default=str).encode())
    file = file.resolve()  # a link runs in its target's folder: that one (review s58 F4)
    for f in [file, *_folder_modules(file.parent)]:
        h.update(os.fsencode(str(f.relative_to(file.parent))) + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _folder_modules(root: Path) -> list[Path]:
    """The ``.py`` files under ``root``, tool caches and virtual environments skipped."""
    return sorted(f for f in root.rglob("*.py") if f.is_file() and not _skip(f, root))


def grade_one(
    file: str, options: dict[str, Any], timeout: float, memory: int, require_fit: bool
) -> tuple[Row, str]:
    """Check one submission in its sandbox: its row (without report path and hash) and its
    full report's text. Never raises for the submission's fault."""
    from nnparity.reference.learner.sandbox import VERDICT, IsolatedOutcome, run_isolated
    from nnparity.scratch.errors import NNParityError

    start = time.monotonic()
    try:
        out = run_isolated(file, options, timeout, memory)
    except NNParityError as e:
        out = IsolatedOutcome("unusable", error=str(e))
    seconds = f"{time.monotonic() - start:.1f}"
    res = out.result or {}
    first = _first_finding(res.get("findings") or [])
    row = Row(
        file,
        out.status,
        str(res.get("code") or ""),
        str((res.get("training") or {}).get("outcome") or ""),
        str(first.get("code") or ""),
        _text(first.get("layer")),
        _text(first.get("step")),
        seconds,
        (out.error or "").splitlines()[0] if out.error else "",
        passed="1" if out.passes(require_fit) else "0",
        style=str(res.get("style") or ("layers" if "layers" in res else "")),
        framework=",".join(res.get("frameworks") or []),
    )
    row = _held(row, require_fit)
    from .check_isolation import _extras

    body = out.render if out.status == VERDICT else f"no verdict ({out.status}):\n{out.error}\n"
    return row, f"{file}\n\n{body.rstrip()}\n{_extras(out)}"


def _held(row: Row, require_fit: bool = False) -> Row:
    """A match that checked no backward pass does not pass a class: an adapter that hands over
    its forward pass alone, or gradients an autodiff framework may have computed (review s54
    F1, F2); the row says why."""
    if row.passed != "1":
        if require_fit and row.code == "match" and row.training != "fits" and not row.error:
            return _with(row, error=f"the training did not fit ({row.training}; --require-fit)")
        return row
    if row.style == "forward":
        return _with(row, passed="0", error="only its forward pass was checked (from_forward)")
    if row.framework:
        why = f"it imports {row.framework}: its gradients may be autodiff's, not its own"
        return _with(row, passed="0", error=why)
    return row


def _first_finding(findings: list[dict]) -> dict:
    """The first bug (or instability) finding, else the first of any kind, else {}."""
    for kinds in (("bug", "instability"), None):
        for f in findings:
            if kinds is None or f.get("kind") in kinds:
                return f
    return {}


def _text(x: Any) -> str:
    return "" if x is None else str(x)


def read_rows(path: Path) -> dict[str, Row]:
    """The rows of an earlier ``grades.csv`` by file; {} when there is none or it cannot be
    read (then everything runs again)."""
    try:
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
            return {
                r["file"]: Row(**{c: r.get(c) or "" for c in COLUMNS}) for r in csv.DictReader(f)
            }
    except (OSError, KeyError, TypeError, csv.Error):
        return {}


def grade(
    files: list[Path],
    out: Path,
    options: dict[str, Any],
    *,
    timeout: float,
    memory: int,
    require_fit: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    gradescope: bool = False,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """Grade ``files`` into ``out`` (see the module docstring); the rows in file order."""
    from . import grade_files
    from .executor import open_executor

    out.mkdir(parents=True, exist_ok=True)
    (out / REPORTS).mkdir(exist_ok=True)
    names = grade_files.report_names(files)
    old = read_rows(out / grade_files.CSV) if resume else {}
    rows: dict[str, Row] = {}
    todo: list[tuple[Path, str]] = []
    limits = {"require_fit": require_fit, "timeout": timeout, "memory": memory}
    for f in files:
        h = content_hash(f, {**options, **limits})
        kept = old.get(str(f))
        if (
            kept is not None
            and kept.status == "verdict"  # a timeout, a crash: the machine's, run again
            and kept.hash == h
            and (out / kept.report).is_file()
        ):
            rows[str(f)] = kept
        else:
            todo.append((f, h))
    if resume:
        log(f"--resume: {len(rows)} unchanged submission(s) kept, {len(todo)} to check")

    def save() -> None:  # every file, after each submission: an interrupted batch agrees
        grade_files.write_all(out, [rows[str(f)] for f in files if str(f) in rows], gradescope)

    with open_executor(scheduler, max(1, min(jobs, len(todo) or 1)), processes=False) as pool:
        inflight: dict[Future, tuple[Path, str]] = {}
        queue = list(reversed(todo))
        while queue or inflight:
            while queue and len(inflight) < 2 * pool.workers:
                f, h = queue.pop()
                args = (str(f.resolve()), options, timeout, memory, require_fit)  # (a link's)
                inflight[pool.submit(grade_one, *args)] = (f, h)
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for fut in finished:
                f, h = inflight.pop(fut)
                row, text = _collect(fut, str(f))
                report = f"{REPORTS}/{names[f]}"
                grade_files.write_report(out / report, text)
                rows[str(f)] = _with(row, file=str(f), report=report, hash=h)
                log(f"{f}: {_summary(rows[str(f)])}")
                save()
    final = [rows[str(f)] for f in files]
    save()
    return final


def _collect(fut: Future, file: str) -> tuple[Row, str]:
    """The row of a finished check; an ``internal`` row when the worker itself failed (a
    dask worker lost, nnparity's own error): never the batch's end."""
    try:
        return fut.result()
    except Exception as e:  # noqa: BLE001
        msg = f"the worker checking it failed: {type(e).__name__}: {e}"
        return Row(file, "internal", error=msg, passed="0"), f"{file}\n\nno verdict: {msg}\n"


def _with(row: Row, **changes: str) -> Row:
    return Row(**{**asdict(row), **changes})


def _summary(row: Row) -> str:
    if row.status != "verdict":
        return f"{row.status}: {row.error}"
    where = f" ({row.finding})" if row.finding else ""
    return f"code {row.code}{where}, training {row.training or '-'} [{row.seconds} s]"
