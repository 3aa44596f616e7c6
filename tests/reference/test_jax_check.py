"""``nnparity check --against jax``: the learner is checked against PyTorch as always, then JAX
triangulates the declared spec's reference numbers at the learner's initial weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
pytest.importorskip("optax", reason="jax is not installed (pip install nnparity[jax])")

from nnparity.reports.cli import main  # noqa: E402

LEARNER = Path(__file__).parents[2] / "examples" / "learners" / "nielsen_onehot.py"


def test_check_against_jax_adds_the_triangulated_verdict(capsys):
    args = ["check", str(LEARNER), "--steps", "3", "--no-training-probe", "--watch", "0"]
    assert main([*args, "--against", "jax"]) == 0
    out = capsys.readouterr().out
    assert "JAX triangulation of the declared spec at your initial weights" in out
    assert "all three agree: " in out
    assert main([*args, "--against", "jax", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["code"] == "match" and data["jax"]["odd_one_out"] is None
    assert main(args) == 0  # without --against: no JAX line
    assert "JAX triangulation" not in capsys.readouterr().out
