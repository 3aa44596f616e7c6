"""A learner file that imports an automatic-differentiation framework (review s51 F12: a
"NumPy network" whose gradients PyTorch's autograd computed was a plain match): the match says,
under "not checked", that its gradients may be the framework's. Seen in the learner's own
process, where nnparity imports no framework; a NumPy-only file has no such line."""

from __future__ import annotations

import json
from pathlib import Path

from nnparity.reports.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"


def _unchecked(path, capsys) -> list[str]:
    rc = main(["check", str(path), "--steps", "2", "--no-training-probe", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["code"] == "match", out
    return [f["code"] for f in out["unchecked"]]


def test_a_file_importing_torch_is_told_its_gradients_may_be_autograds(tmp_path, capsys):
    src = (EXAMPLES / "style_a_nielsen.py").read_text()
    path = tmp_path / "with_torch.py"
    path.write_text("import torch  # noqa: F401\n" + src)
    assert "framework_imported" in _unchecked(path, capsys)


def test_a_numpy_only_file_has_no_such_line(capsys):
    assert "framework_imported" not in _unchecked(EXAMPLES / "style_a_nielsen.py", capsys)
