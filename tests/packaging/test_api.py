"""``import nnparity``: the public API under one name, NumPy only until torch is needed, and
no module importable (or imported) under a second name."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nnparity

API = [
    "Spec", "build", "run_parity", "check", "assert_learner_matches", "from_gradients",
    "from_layers", "from_step", "from_forward", "from_loss", "layer_check", "check_layers",
    "__version__",
]  # fmt: skip


@pytest.mark.parametrize("name", API)
def test_the_public_api_is_one_import_away(name):
    assert name in nnparity.__all__ and getattr(nnparity, name) is not None


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Spek'"):
        nnparity.Spek  # noqa: B018


def test_import_nnparity_is_numpy_only_and_registers_nothing_twice():
    code = (
        "import sys, nnparity, nnparity.reference.learner, nnparity.reports.cli\n"
        "assert 'torch' not in sys.modules and 'pandas' not in sys.modules\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "assert not tops & {'scratch', 'reference', 'reports'}, tops & {'scratch'}\n"
        "from nnparity.scratch import activations\n"
        "from nnparity.scratch.activations import activations as again\n"
        "assert activations is again\n"
        "print(nnparity.__version__)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() and res.stdout.strip() != "0+unknown"
