"""The probe's runs on NumPy (``numpy_train``) are PyTorch's to round-off: every optimizer of
``test_bare``'s specs, with frozen biases, L2 terms, a clip by value and by norm, batches
reshuffled each pass; the same stopping step. Where scratch's step 1 is not PyTorch's (a
planted slip in scratch's update or loss) or the network is layered, PyTorch trains."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_bare import SPECS

from nnparity.reference.learner import numpy_train
from nnparity.reference.learner.torch_side import Reference
from nnparity.scratch import Spec, build, losses, optimizers

CASES = [(set(), 0.0, (0.0, 0.0)), ({"b1"}, 0.01, (0.5, 0.0)), (set(), 0.0, (0.0, 1.0))]


def _data(text: str, rows: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, int(text.split("-")[0])))
    if "cross_entropy" in text:
        return X, (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, (X[:, :1] > 0).astype(float)


def _both(text: str, frozen: set, l2: float, clip: tuple, steps: int = 80, fits=None):
    spec = Spec.parse(text)
    X, y = _data(text)
    P = build(spec).init_params(seed=1)
    P = {n: np.zeros_like(v) if n in frozen else v for n, v in P.items()}
    ref = Reference(spec, frozen, l2=l2, clip=clip)
    batches = [(X[:5], y[:5]), (X[5:], y[5:])]  # two batches: each pass reshuffled
    fits = fits or (lambda out: False)
    got = numpy_train.train_numpy(ref, spec, P, batches, steps, frozen, fits)
    want = ref.train_torch(spec, P, batches, steps, frozen, fits)
    return spec, got, want


@pytest.mark.parametrize("text", SPECS)
@pytest.mark.parametrize("frozen,l2,clip", CASES)
def test_a_numpy_run_is_pytorchs_to_round_off(text, frozen, l2, clip):
    spec, got, want = _both(text, frozen, l2, clip)
    assert got is not None  # scratch's step 1 is PyTorch's: NumPy trains
    rtol = 1e-9 if spec.dtype == "float64" else 2e-4
    assert got.steps == want.steps == 80
    np.testing.assert_allclose(got.losses, want.losses, rtol=rtol, atol=0)
    for n, p in want.params.items():
        np.testing.assert_allclose(
            got.params[n], p, rtol=rtol, atol=rtol * np.abs(p).max(), err_msg=n
        )
    np.testing.assert_allclose(got.out, want.out, rtol=rtol, atol=rtol)
    assert all(np.array_equal(got.params[n], 0 * got.params[n]) for n in frozen)


def test_a_run_stops_where_pytorchs_stops():
    """First fit at step k past a quarter of the budget: the fit is held to step 2k."""
    text = "2-4-1 tanh,sigmoid loss=bce opt=adam(lr=0.001) dtype=float64"
    y = _data(text)[1]
    fits = lambda out: bool(((out > 0.5) == (y > 0.5)).mean() == 1.0)  # noqa: E731
    _, got, want = _both(text, set(), 0.0, (0.0, 0.0), steps=2000, fits=fits)
    assert got.fit and want.fit and got.steps == want.steps
    assert 1000 < got.steps < 2000 and len(got.losses) == got.steps


def test_a_slip_in_scratchs_update_or_loss_leaves_the_run_to_pytorch(monkeypatch):
    text = "2-4-1 tanh,identity loss=mse opt=sgd(lr=0.1,momentum=0.9)"
    assert _both(text, set(), 0.0, (0.0, 0.0), steps=5)[1] is not None
    _plant(
        monkeypatch,
        optimizers,
        "sgd",
        "update",
        lambda f: lambda g, s, p, **k: f({n: 2 * v for n, v in g.items()}, s, p, **k),
    )  # scratch's SGD taking twice the step
    assert _both(text, set(), 0.0, (0.0, 0.0), steps=5)[1] is None
    monkeypatch.undo()
    _plant(monkeypatch, losses, "mse", "value", lambda f: lambda a, y: f(a, y) / 2)  # (its
    assert _both(text, set(), 0.0, (0.0, 0.0), steps=5)[1] is None  # gradient as it was)
    monkeypatch.undo()
    build.cache_clear()


def _plant(monkeypatch, registry, name: str, field: str, wrong) -> None:
    """Scratch's ``name`` with its ``field`` (a function) replaced by ``wrong(field)``."""
    variant = registry[name]

    def make(**kw):
        made = variant.make(**kw)
        return made._replace(**{field: wrong(getattr(made, field))})

    monkeypatch.setitem(registry._variants, name, dataclasses.replace(variant, make=make))
    build.cache_clear()


def test_a_layered_network_is_left_to_pytorch():
    spec = Spec.parse("2 dense(3) tanh dropout(0.5) dense(1) loss=mse opt=sgd(lr=0.1)")
    assert spec.layered
    ref = Reference(Spec.parse("2-3-1 tanh,identity loss=mse opt=sgd(lr=0.1)"), set())
    X, y = _data("2-")
    P = build(spec).init_params(seed=1)
    assert numpy_train.train_numpy(ref, spec, P, [(X, y)], 5, set(), lambda o: False) is None
