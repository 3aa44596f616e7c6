"""Without jax: the JAX tests skip with the reason, and the command names the extra."""

from __future__ import annotations

import sys

import pytest

from nnparity.reports.cli import main


@pytest.fixture
def no_jax(monkeypatch):
    """jax and optax cannot be imported (as in an install without the extra)."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("jax", "optax") or name.startswith("nnparity.reference.jax"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jax", None)
    monkeypatch.setitem(sys.modules, "optax", None)


def test_import_names_the_extra(no_jax):
    with pytest.raises(ImportError, match=r"pip install nnparity\[jax\]"):
        import nnparity.reference.jax  # noqa: F401


def test_conventions_command_names_the_extra(no_jax, capsys):
    assert main(["conventions"]) == 2
    err = capsys.readouterr().err
    assert "jax is not installed (pip install nnparity[jax])" in err
    assert "Traceback" not in err


def test_jax_tests_skip_with_the_reason(no_jax):
    with pytest.raises(pytest.skip.Exception, match=r"jax is not installed \(pip install"):
        pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
