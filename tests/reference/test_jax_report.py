"""``nnparity report --against torch,jax``: each configuration swept against both frameworks,
a ``framework`` column in the records, the PyTorch tables unchanged, and a 'PyTorch against
JAX' table counting who fails where (a bug planted in the torch twin: against PyTorch only)."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
pytest.importorskip("optax", reason="jax is not installed (pip install nnparity[jax])")

from torch import nn  # noqa: E402

from nnparity.reference.variants import torch_activations  # noqa: E402
from nnparity.reports import tables  # noqa: E402
from nnparity.reports.cli import main  # noqa: E402
from nnparity.reports.frame import usable  # noqa: E402
from nnparity.scratch import build  # noqa: E402

SPECS = [
    "3-4-2 tanh,identity loss=mse opt=adam(lr=0.01) seed=1",
    "3-4-1 relu,sigmoid loss=bce opt=sgd(lr=0.1) dtype=float32 seed=2",
]


def _report(tmp_path, *extra):
    matrix = tmp_path / "m.toml"
    specs = ", ".join(f'"{s}"' for s in SPECS)
    matrix.write_text(f'specs = [{specs}]\nsteps = 2\nmodes = ["free"]\n')
    out = tmp_path / "out"
    args = ["report", "--matrix", str(matrix), "--out", str(out), "--no-progress", "--jobs", "1"]
    code = main([*args, *extra])
    from nnparity.reports import load

    return code, load(out).frame(), (out / "report.md").read_text()


@pytest.fixture
def fresh_build():
    build.cache_clear()
    yield
    build.cache_clear()


def test_report_against_both_has_a_framework_column_and_the_table(tmp_path, fresh_build):
    code, frame, md = _report(tmp_path, "--against", "torch,jax")
    assert code == 0
    assert set(frame["framework"]) == {"torch", "jax"}
    assert set(frame["mode"]) == {"free"}
    assert frame.groupby("framework")["spec"].nunique().to_dict() == {"torch": 2, "jax": 2}
    assert set(usable(frame)["framework"]) == {"torch"}  # the PyTorch tables stay PyTorch's
    assert "PyTorch against JAX" in md
    table = tables.frameworks(frame)
    assert table["configurations"].sum() == 2
    assert table[["fail vs PyTorch only", "fail vs JAX only", "fail vs both"]].sum().sum() == 0


def test_report_table_counts_a_torch_twin_bug_against_pytorch_only(
    tmp_path, monkeypatch, fresh_build
):
    class Off(nn.Module):
        def forward(self, z):
            return nn.functional.tanh(z) * 1.01

    variant = torch_activations["tanh"]
    monkeypatch.setitem(
        torch_activations._variants, "tanh", dataclasses.replace(variant, make=lambda: Off())
    )
    code, frame, _ = _report(tmp_path, "--against", "torch,jax")
    assert code == 1
    table = tables.frameworks(frame).reset_index()
    row = table[table["dtype"] == "float64"].iloc[0]
    assert (row["fail vs PyTorch only"], row["fail vs JAX only"], row["fail vs both"]) == (1, 0, 0)


def test_report_default_is_torch_only_and_has_no_jax_table(tmp_path):
    code, frame, md = _report(tmp_path)
    assert code == 0
    assert set(frame["framework"]) == {"torch"}
    assert tables.frameworks(frame).empty
