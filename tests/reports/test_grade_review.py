"""Batch grading attacked (review s54): a match that checked no backward pass does not pass a
class (a forward-only adapter; gradients an autodiff framework may have computed, imported at
the top or inside a gradient function); --resume runs again what the machine stopped (a
timeout) and what a changed limit could change; report names depend on their own path alone;
a file name that is not UTF-8 is a row, not the batch's end; every output file agrees after
each submission; Gradescope's tests are named by path."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from test_grade import BASE, CLASS, FAST

from nnparity.reports.cli import main
from nnparity.reports.grade_files import report_names

FORWARD = """from base import make, X
from nnparity.reference.learner import from_forward
def nnparity_adapter():
    a = make()
    return from_forward(a.root, a.paths, lambda X: __import__("numpy").tanh(X @ a.root["W1"]
                        + a.root["b1"]) @ a.root["W2"] + a.root["b2"], sizes=[2, 3, 1],
                        activations="tanh,identity", loss="mse", data=(X, a.data[1]))
"""
LAZY_TORCH = """from base import make
def nnparity_adapter():
    a = make()
    inner = a.grads
    def grads(X, y):
        import torch  # noqa: F401 - imported inside the gradient function
        return inner(X, y)
    a.grads = grads
    return a
"""


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(newline="") as f:
        return {Path(r["file"]).parent.name: r for r in csv.DictReader(f)}


def _class(root: Path, subs: dict[str, str]) -> Path:
    for who, text in subs.items():
        (root / who).mkdir(parents=True)
        (root / who / "base.py").write_text(BASE)
        (root / who / "net.py").write_text(text)
    return root


def test_a_match_that_checked_no_backward_pass_does_not_pass(tmp_path, capsys):
    subs = _class(tmp_path / "s", {"alice": CLASS["good.py"], "fwd": FORWARD,
                                   "lazy": LAZY_TORCH})  # fmt: skip
    out = tmp_path / "g"
    assert main(["check", str(subs), "--out", str(out), "--format", "gradescope", *FAST]) == 1
    rows = _rows(out)
    assert rows["alice"]["passed"] == "1" and rows["alice"]["style"] == "gradients"
    assert (rows["fwd"]["code"], rows["fwd"]["passed"]) == ("match", "0")
    assert "forward pass" in rows["fwd"]["error"]
    assert (rows["lazy"]["passed"], rows["lazy"]["framework"]) == ("0", "torch"), rows["lazy"]
    tests = json.loads((out / "results.json").read_text())["tests"]
    assert sorted(t["name"] for t in tests) == sorted(
        f"nnparity check {subs / who / 'net.py'}" for who in ("alice", "fwd", "lazy")
    )  # one net.py per student, told apart by its path
    assert "1 passed" in capsys.readouterr().out
    assert "1 passed" in (out / "grades.md").read_text()


def test_resume_runs_again_what_a_limit_stopped(tmp_path, capsys):
    subs = _class(tmp_path / "s", {"slow": "import time\ntime.sleep(3)\n" + CLASS["good.py"]})
    out = tmp_path / "g"
    cmd = ["check", str(subs), "--out", str(out), *FAST, "--resume"]
    assert main([*cmd, "--timeout", "1"]) == 2
    assert _rows(out)["slow"]["status"] == "timeout"
    assert main([*cmd, "--timeout", "60"]) == 0
    assert "0 unchanged submission(s) kept, 1 to check" in capsys.readouterr().err
    assert _rows(out)["slow"]["code"] == "match"


def test_report_names_depend_on_their_own_path_alone(tmp_path):
    a, b = tmp_path / "w" / "a_b.py", tmp_path / "w" / "a b.py"
    alone = report_names([a, tmp_path / "x" / "n.py"])
    both = report_names([a, b, tmp_path / "x" / "n.py"])
    assert alone[a] == both[a] and both[a] != both[b]


def test_a_file_name_that_is_not_utf8_is_a_row(tmp_path):
    subs = tmp_path / "s"
    (subs / os.fsdecode(b"j\xe9r\xf4me")).mkdir(parents=True)
    odd = subs / os.fsdecode(b"j\xe9r\xf4me")
    (odd / "base.py").write_text(BASE)
    (odd / "net.py").write_text(CLASS["good.py"])
    out = tmp_path / "g"
    assert main(["check", str(subs), "--out", str(out), *FAST]) == 0
    assert len(list((out / "reports").iterdir())) == 1


def test_a_link_keeps_its_own_row_and_a_misspelled_adapter_is_said(tmp_path, capsys):
    """Review s54 F9, F10: a submission linking to a classmate's was merged into that row,
    and one defining nnparity_adaptor() had no row and no word."""
    subs = _class(tmp_path / "s", {"alice": CLASS["good.py"]})
    (subs / "vic").mkdir()
    (subs / "vic" / "net.py").symlink_to(subs / "alice" / "net.py")
    (subs / "rob").mkdir()
    (subs / "rob" / "net.py").write_text("def nnparity_adaptor():\n    pass\n")
    (subs / "sam").mkdir()
    (subs / "sam" / "net.py").write_text("def make():\n    pass\nnnparity_adapters = make\n")
    out = tmp_path / "g"
    assert main(["check", str(subs), "--out", str(out), *FAST]) == 0
    assert set(_rows(out)) == {"alice", "vic"}
    err = capsys.readouterr().err
    assert "defines nnparity_adaptor(), not nnparity_adapter(): not graded" in err
    assert "defines nnparity_adapters(), not nnparity_adapter(): not graded" in err


def test_layer_checks_that_import_a_framework_do_not_pass(tmp_path):
    """Review s58 F2: layer checks skipped the framework rule and had no style."""
    examples = Path(__file__).resolve().parents[2] / "examples" / "learners"
    src = (examples / "layers_affine_ok.py").read_text()
    for who, head in (("torch_user", "import torch  # noqa: F401\n"), ("numpy_only", "")):
        (tmp_path / "s" / who).mkdir(parents=True)
        (tmp_path / "s" / who / "sub.py").write_text(head + src)
    out = tmp_path / "g"
    files = [str(tmp_path / "s" / w / "sub.py") for w in ("torch_user", "numpy_only")]
    main(["check", *files, "--out", str(out), "--timeout", "60"])
    rows = _rows(out)
    assert (rows["torch_user"]["passed"], rows["torch_user"]["framework"]) == ("0", "torch")
    assert (rows["numpy_only"]["passed"], rows["numpy_only"]["style"]) == ("1", "layers")
