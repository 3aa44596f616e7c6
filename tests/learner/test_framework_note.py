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


HIDDEN = {
    # imported, then taken out of sys.modules (review s58 F1)
    "deleted": "import sys\nimport torch  # noqa: F401\ndel sys.modules['torch']\n",
    # nnparity's own list patched empty
    "patched": "import torch  # noqa: F401\n"
    "import nnparity.reference.learner.serve as s\ns.AUTODIFF = ()\n",
    # by importlib, with the name split
    "importlib": "import importlib\nimportlib.import_module('tor' + 'ch')\n",
}


def test_an_import_hidden_afterwards_is_still_seen(tmp_path, capsys):
    src = (EXAMPLES / "style_a_nielsen.py").read_text()
    for name, head in HIDDEN.items():
        path = tmp_path / f"{name}.py"
        path.write_text(head + src)
        assert "framework_imported" in _unchecked(path, capsys), name


def test_nnparitys_own_torch_and_a_module_named_autograd_of_ones_own_are_not(tmp_path, capsys):
    """Review s58 F7, F8: the learner's file running nnparity.check at import (nnparity loads
    torch), and a NumPy helper of its own called autograd.py."""
    src = (EXAMPLES / "style_a_nielsen.py").read_text()
    (tmp_path / "autograd.py").write_text("def grad(f):\n    return f\n")
    path = tmp_path / "own.py"
    path.write_text("import autograd  # noqa: F401\n" + src + "\nimport nnparity.reference\n"
                    "nnparity.reference.learner.check(nnparity_adapter(), *nnparity_adapter().data,"
                    " steps=1, probe=False)\n")  # fmt: skip
    assert "framework_imported" not in _unchecked(path, capsys)
