"""The files of a graded batch (``grade.grade``): ``grades.csv`` (one row per submission),
``grades.md``, a self-contained ``grades.html`` (a table sorted by a click on a column head,
each row linking to ``reports/<submission>.txt``, the submission's full report) and, with
``--format gradescope``, ``results.json`` in Gradescope's autograder schema: one test per
submission (``name``, ``score``, ``max_score`` 1, ``status``, ``output``: its report) and the
total ``score``. Every file is written atomically."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import write_text

if TYPE_CHECKING:
    from .grade import Row

CSV, MD, HTML, GRADESCOPE = "grades.csv", "grades.md", "grades.html", "results.json"
SHOWN = ("file", "status", "passed", "code", "training", "finding", "style", "step", "seconds",
         "error")  # fmt: skip


def report_names(files: list[Path]) -> dict[Path, str]:
    """A readable file name per submission for its report: its path below the submissions'
    common folder, separators as ``__`` (cut at 80 characters), then a hash of its absolute
    path and ``.txt``: a name depends on its own path alone (review s54 F6, s58 F5)."""
    if not files:
        return {}
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    names: dict[Path, str] = {}
    for f in files:
        plain = "__".join(f.relative_to(root).parts)
        stem = re.sub(r"[^A-Za-z0-9.-]+", "_", plain)[:80]  # (a long path: s58 F6)
        # a hash of the absolute path: a/b.py and a__b.py, or x.py below two different
        # common folders across --resume runs, never share a name (review s58 F5)
        names[f] = f"{stem}-{hashlib.sha256(os.fsencode(str(f.absolute()))).hexdigest()[:8]}.txt"
    return names


def write_report(path: Path, text: str) -> Path:
    return write_text(path, text)


def write_csv(out: Path, rows: list[Row]) -> Path:
    from .grade import COLUMNS

    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: getattr(r, c) for c in COLUMNS})
    return write_text(out / CSV, buf.getvalue())


def write_all(out: Path, rows: list[Row], gradescope: bool = False) -> dict[str, Path]:
    """grades.csv, grades.md, grades.html (and results.json with ``gradescope``)."""
    files = {
        "csv": write_csv(out, rows),
        "markdown": write_text(out / MD, markdown(rows)),
        "html": write_text(out / HTML, page(rows)),
    }
    if gradescope:
        files["gradescope"] = write_text(out / GRADESCOPE, gradescope_json(out, rows))
    return files


def counts(rows: list[Row]) -> str:
    """``3 submission(s): 1 match, 1 implementation_bug, 1 timeout; 1 passed``."""
    tally: dict[str, int] = {}
    for r in rows:
        key = r.code if r.status == "verdict" else r.status
        tally[key] = tally.get(key, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()))
    passed = sum(r.passed == "1" for r in rows)
    return f"{len(rows)} submission(s): {parts}; {passed} passed" if rows else "no submissions"


def markdown(rows: list[Row]) -> str:
    def cell(x: str) -> str:
        return x.replace("|", "\\|").replace("\n", " ")

    lines = ["# Grades", "", counts(rows), ""]
    lines.append("| " + " | ".join(SHOWN) + " | report |")
    lines.append("|" + " --- |" * (len(SHOWN) + 1))
    for r in rows:
        vals = [cell(getattr(r, c)) for c in SHOWN]
        lines.append("| " + " | ".join(vals) + f" | [report]({r.report}) |")
    return "\n".join(lines) + "\n"


SORT_JS = """
document.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const rows = Array.from(body.rows);
  const up = th.dataset.dir !== 'asc';
  th.dataset.dir = up ? 'asc' : 'desc';
  const key = r => r.cells[i].dataset.v ?? r.cells[i].textContent;
  rows.sort((a, b) => {
    const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
    const c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
    return up ? c : -c;
  });
  rows.forEach(r => body.appendChild(r));
}));
"""
STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{cursor:pointer;background:#eee}tr.pass td{background:#efe}tr.fail td{background:#fee}"
    "tr.none td{background:#ffe}"
)


def page(rows: list[Row]) -> str:
    """The verdict table as one HTML page (inline style and script, no outside resource);
    every value escaped."""
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in SHOWN) + "<th>report</th>"
    body = []
    for r in rows:
        kind = "none" if r.status != "verdict" else "pass" if r.passed == "1" else "fail"
        cells = "".join(f"<td>{e(getattr(r, c))}</td>" for c in SHOWN)
        link = f'<td><a href="{e(r.report, quote=True)}">report</a></td>'
        body.append(f'<tr class="{kind}">{cells}{link}</tr>')
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Grades</title>'
        f"<style>{STYLE}</style></head><body>\n<h1>Grades</h1>\n<p>{e(counts(rows))} "
        "(click a column head to sort)</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>\n"
        f"<script>{SORT_JS}</script>\n</body></html>\n"
    )


def gradescope_json(out: Path, rows: list[Row]) -> str:
    """Gradescope's autograder ``results.json``: a test per submission, 1 point when it
    passes (code match; with --require-fit also fits), its full report as output."""
    tests = []
    for r in rows:
        try:
            output = (out / r.report).read_text(encoding="utf-8", errors="replace")
        except OSError:
            output = r.error
        score = 1.0 if r.passed == "1" else 0.0
        tests.append(
            {
                "name": f"nnparity check {r.file}",  # its path: one net.py per student
                "score": score,
                "max_score": 1.0,
                "status": "passed" if score else "failed",
                "output": output,
            }
        )
    doc = {
        "score": sum(t["score"] for t in tests),
        "output": counts(rows),
        "tests": tests,
    }
    return json.dumps(doc, indent=2) + "\n"
