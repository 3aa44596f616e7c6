"""The CI correctness suite: scratch against PyTorch over the configuration matrix."""

from __future__ import annotations

import itertools

import pytest

from nnparity.reference.engine import run_parity
from nnparity.reference.matrix import Axes, covering, matrix
from nnparity.scratch import activations, initializers, losses, optimizers
from nnparity.scratch.spec import choice


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "matrix_spec" in metafunc.fixturenames:
        specs = matrix("full" if metafunc.config.getoption("--full") else "default")
        metafunc.parametrize("matrix_spec", specs, ids=[str(s) for s in specs])


@pytest.mark.parametrize("mode", ["free", "resync"])
def test_parity(matrix_spec, mode):
    result = run_parity(matrix_spec, steps=5, mode=mode)
    assert result.passed, result.message()
    assert {r.stage for r in result.records} >= {"forward", "loss", "grad", "update"}


def _key(spec):
    return (
        spec.activations[0].__str__(),
        str(spec.init),
        str(spec.loss),
        str(spec.opt),
        spec.dtype,
    )


def _norm(registry, names):
    return [str(choice(registry, n)) for n in names]


def test_covering_design_covers_every_pair_at_every_dtype():
    axes = Axes()
    specs = [s for s in covering(axes) if not s.layered]
    seen = {_key(s) for s in specs}
    acts, inits = _norm(activations, axes.activations), _norm(initializers, axes.initializers)
    loss_names, opts = _norm(losses, axes.losses), _norm(optimizers, axes.optimizers)
    for dtype in axes.dtypes:
        acts_inits = {(a, i) for a, i, _, _, d in seen if d == dtype}
        loss_opts = {(lo, o) for _, _, lo, o, d in seen if d == dtype}
        assert acts_inits == set(itertools.product(acts, inits))
        margins = set(_norm(losses, axes.margin_losses))
        assert {lo for lo, _ in loss_opts} == set(loss_names) | margins  # margins: one row each
        assert {p for p in loss_opts if p[0] not in margins} == set(
            itertools.product(loss_names, opts)
        )
        outputs = {s.activations[-1].name for s in specs if s.dtype == dtype}
        assert set(activations.names("output")) <= outputs


def test_every_registered_variant_is_in_the_default_axes():
    from nnparity.scratch import REGISTRIES

    axes = Axes()
    used = {
        "activation": {a.split("(")[0] for a in axes.activations}
        | set(activations.names("output")),
        "initializer": {i.split("(")[0] for i in axes.initializers},
        "loss": {lo.split("(")[0] for lo in (*axes.losses, *axes.margin_losses)},
        "optimizer": {o.split("(")[0] for o in axes.optimizers},
    }
    for kind, reg in REGISTRIES.items():
        assert set(reg.names()) <= used[kind], f"{kind}s missing from the matrix"


def test_quick_matrix_has_every_variant():
    specs = matrix("quick")
    assert {s.init.name for s in specs} == set(Axes().initializers)


def test_layer_axis_holds_every_layer_type_at_both_dtypes():
    from nnparity.reference.matrix import layered
    from nnparity.scratch.layers import layers

    specs = [s for s in covering() if s.layered]
    for dtype in DTYPES_:
        here = [s for s in specs if s.dtype == dtype]
        names = {c.name for s in here for c in s.layers}
        assert set(layers.names()) <= names  # conv, pools, flatten, dense, norms, dropout
        texts = [str(s) for s in here]
        assert any("conv(" in t and "stride=2" in t and "pad=1" in t for t in texts)
        assert any("maxpool(2,stride=1)" in t for t in texts)  # overlapping windows
        assert any("avgpool(2,stride=1)" in t for t in texts)
        assert any("batchnorm" in t and s.batch == 2 for t, s in zip(texts, here, strict=True))
    full = layered(full=True)
    assert len(full) == 2 * len(Axes().layers) * len(Axes().activations) * len(Axes().initializers)
    assert {str(s.opt) for s in full} == {str(s.opt) for s in covering() if not s.layered}


DTYPES_ = ("float32", "float64")
