"""``nnparity check PATH... --out DIR``: a whole class at once (issue 16). A batch with a
hanging, a crashing, a memory-hogging, a file-deleting and a stdin-reading submission ends with
the right row for each, the others graded, the grader's files untouched; the files it writes;
--resume by content hash; discovery of submissions in folders and globs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nnparity.reports import grade_files
from nnparity.reports.cli import main
from nnparity.reports.grade import Row, content_hash, submissions

FAST = ["--steps", "2", "--watch", "0", "--no-probe"]

BASE = """
import numpy as np
from nnparity.reference.learner import from_gradients

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y = np.array([[1.0], [1.0], [0.0], [0.0]])


def make(bug=False):
    rng = np.random.RandomState(0)
    p = {"W1": rng.randn(2, 3), "b1": np.zeros(3), "W2": rng.randn(3, 1), "b2": np.zeros(1)}

    def grads(X, y):
        h = np.tanh(X @ p["W1"] + p["b1"])
        out = h @ p["W2"] + p["b2"]
        d = 2 * (out - y) / out.size
        dh = d @ p["W2"].T * ((1 - h) if bug else (1 - h**2))
        loss = float(np.mean((out - y) ** 2))
        return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return from_gradients(p, ["W1", "b1", "W2", "b2"], grads, sizes=[2, 3, 1],
                          activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1,
                          data=(X, Y))
"""

CLASS = {
    "good.py": "from base import make\ndef nnparity_adapter(): return make()\n",
    "buggy.py": "from base import make\ndef nnparity_adapter(): return make(bug=True)\n",
    # a hang that sleeps (a busy loop's CPU limit: test_isolation, test_grade below): the
    # 40 s it waits leave the other test workers their core
    "hangs.py": "import time\ntime.sleep(3600)\ndef nnparity_adapter(): pass\n",
    "crashes.py": "import ctypes\nctypes.string_at(0)\ndef nnparity_adapter(): pass\n",
    "hog.py": "import numpy as np\nkeep = [np.ones(2**27) for _ in range(64)]\n"
    "def nnparity_adapter(): pass\n",
    "deletes.py": "import os, shutil\nfrom base import make\n"
    "for f in os.listdir('.'):\n"
    "    if f != 'deletes.py':\n"
    "        shutil.rmtree(f) if os.path.isdir(f) else os.remove(f)\n"
    "def nnparity_adapter(): return make()\n",
    "reads_stdin.py": "import sys\nfrom base import make\nassert sys.stdin.read() == ''\n"
    "def nnparity_adapter(): return make()\n",
}
EXPECTED = {  # file: (status, code)
    "good.py": ("verdict", "match"),
    "buggy.py": ("verdict", "implementation_bug"),
    "hangs.py": ("timeout", ""),
    "crashes.py": ("crashed", ""),
    "hog.py": ("memory", ""),
    "deletes.py": ("verdict", "match"),
    "reads_stdin.py": ("verdict", "match"),
}


def classroom(folder: Path, names: list[str]) -> dict[Path, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.py").write_text(BASE)
    for n in names:
        (folder / n).write_text(CLASS[n])
    return {p: p.read_bytes() for p in folder.iterdir()}


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="") as f:
        return {Path(r["file"]).name: r for r in csv.DictReader(f)}


def test_a_hostile_class_is_graded_row_by_row_without_harm(tmp_path, capsys):
    subs = tmp_path / "submissions"
    before = classroom(subs, list(CLASS))
    out = tmp_path / "grades"
    rc = main(["check", str(subs), "--out", str(out), "--jobs", "2", "--timeout", "40",
               "--memory-limit", "1500M", "--format", "gradescope", *FAST])  # fmt: skip
    got = rows(out)
    assert {n: (r["status"], r["code"]) for n, r in got.items()} == EXPECTED, capsys.readouterr()
    assert rc == 2  # some submissions gave no verdict: the worst of the rows
    assert got["buggy.py"]["finding"] and got["buggy.py"]["passed"] == "0"
    assert "within 40 s" in got["hangs.py"]["error"]
    assert "SIGSEGV" in got["crashes.py"]["error"] and "memory" in got["hog.py"]["error"]
    # the grader's files: every submission and its helper as they were
    assert {p: p.read_bytes() for p in subs.iterdir()} == before
    for r in got.values():
        assert (out / r["report"]).is_file()
    assert "code: match" in (out / got["good.py"]["report"]).read_text()
    html = (out / "grades.html").read_text()
    hangs = got["hangs.py"]["report"]
    assert hangs.startswith("reports/hangs.py-") and hangs.endswith(".txt")
    assert html.count("<tr class=") == len(CLASS) and f'href="{hangs}"' in html
    md = (out / "grades.md").read_text()
    assert f"| {subs / 'hangs.py'} | timeout |" in md and f"[report]({hangs})" in md
    doc = json.loads((out / "results.json").read_text())
    assert doc["score"] == 3.0 and len(doc["tests"]) == len(CLASS)
    assert all(set(t) >= {"name", "score", "max_score", "output"} for t in doc["tests"])


def test_resume_checks_only_new_or_changed_submissions(tmp_path, capsys):
    subs = tmp_path / "s"
    classroom(subs / "alice", ["good.py"])  # a folder each: one's edits leave the other's
    classroom(subs / "bob", ["buggy.py"])  # grade alone
    out = tmp_path / "g"
    cmd = ["check", str(subs), "--out", str(out), "--resume", *FAST]
    assert main(cmd) == 1
    first = rows(out)
    assert main(cmd) == 1
    assert "2 unchanged submission(s) kept, 0 to check" in capsys.readouterr().err
    assert rows(out) == first  # nothing ran: same seconds, same rows
    (subs / "bob" / "buggy.py").write_text(CLASS["good.py"])  # the student fixed it
    assert main(cmd) == 0
    assert "1 unchanged submission(s) kept, 1 to check" in capsys.readouterr().err
    assert rows(out)["buggy.py"]["code"] == "match"
    assert rows(out)["good.py"]["seconds"] == first["good.py"]["seconds"]


def test_the_hash_follows_every_module_of_the_submissions_folder(tmp_path):
    """Review s54 F3: a module imported relatively, a package's __init__ or one loaded by
    importlib escaped a hash of the modules imported by name: --resume kept a stale match.
    The submission runs in a copy of its whole folder, so every .py there counts."""
    classroom(tmp_path, ["good.py"])
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from .consts import S\n")
    (tmp_path / "pkg" / "consts.py").write_text("S = 1\n")
    f = tmp_path / "good.py"
    h = content_hash(f, {"steps": 2})
    assert content_hash(f, {"steps": 3}) != h
    (tmp_path / "pkg" / "consts.py").write_text("S = 2\n")
    h2 = content_hash(f, {"steps": 2})
    assert h2 != h
    (tmp_path / "base.py").write_text(BASE + "\n# changed\n")
    h3 = content_hash(f, {"steps": 2})
    assert h3 != h2
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("y = 1\n")  # a tool's cache: not counted
    assert content_hash(f, {"steps": 2}) == h3


def test_submissions_in_folders_and_globs(tmp_path):
    classroom(tmp_path / "alice", ["good.py"])
    classroom(tmp_path / "bob", ["buggy.py"])
    (tmp_path / "bob" / "__pycache__").mkdir()
    (tmp_path / "bob" / "__pycache__" / "x.py").write_text(CLASS["good.py"])
    found, notes = submissions([str(tmp_path)])
    assert [p.name for p in found] == ["good.py", "buggy.py"] and notes == []  # base.py: no adapter
    found, notes = submissions([str(tmp_path / "*" / "g*.py"), str(tmp_path / "nobody")])
    assert [p.name for p in found] == ["good.py"]
    assert notes == [f"{tmp_path / 'nobody'}: no submission found (no file, or no .py "
                     "defining nnparity_adapter())"]  # fmt: skip


def test_report_names_are_distinct_for_same_named_files(tmp_path):
    a, b = tmp_path / "alice" / "net.py", tmp_path / "bob" / "net.py"
    names = grade_files.report_names([a, b])
    assert names[a].startswith("alice_net.py-") and names[b].startswith("bob_net.py-")
    c, d = tmp_path / "a" / "b.py", tmp_path / "a__b.py"  # review s58 F5: one name before
    assert len(set(grade_files.report_names([c, d]).values())) == 2


def test_the_page_escapes_what_a_submission_says(tmp_path):
    row = Row("<script>x</script>.py", "unusable", error="<b>&", report="reports/a.txt")
    text = grade_files.page([row])
    assert "<script>x</script>" not in text.split("<script>")[0]
    assert "&lt;script&gt;x&lt;/script&gt;.py" in text and "&lt;b&gt;&amp;" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--json"], "--json is for one file"),
        (["--scheduler", "local:0"], "write local:N with N >= 1"),
    ],
)
def test_batch_refusals(tmp_path, capsys, args, message):
    classroom(tmp_path / "s", ["good.py"])
    assert main(["check", str(tmp_path / "s"), "--out", str(tmp_path / "g"), *args]) == 2
    assert message in capsys.readouterr().err


def test_the_child_has_a_cpu_time_limit(tmp_path, monkeypatch):
    """RLIMIT_CPU in the child: a busy loop ends at its CPU limit, said as a timeout, before the
    (here much longer) wall-time limit."""
    from nnparity.reference.learner import sandbox

    monkeypatch.setattr(sandbox, "cpu_limit", lambda timeout: 3)
    f = tmp_path / "busy.py"
    f.write_text("while True:\n    pass\ndef nnparity_adapter(): pass\n")
    out = sandbox.run_isolated(str(f), {}, timeout=120)
    assert out.status == sandbox.TIMEOUT and "used up its CPU time" in out.error
