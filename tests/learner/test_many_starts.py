"""Fresh starts trained at once (``many_starts.train_many``: on NumPy, ``numpy_many``, or on
PyTorch with vmap) follow PyTorch's runs one at a time: the same fits, stopping steps, losses
and weights to round-off; specs neither stacks, a loss vmap does not carry, or a scratch that
parts from PyTorch at step 1 give None there (then PyTorch, or the caller one at a time)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import many_starts, numpy_many
from nnparity.reference.learner.criteria import criterion
from nnparity.reference.learner.many_starts import train_many
from nnparity.reference.learner.torch_side import Reference
from nnparity.scratch import Spec, build

CASES = [  # (spec, targets, l2, frozen biases)
    ("2-6-1 tanh,sigmoid loss=bce opt=adam(lr=0.05)", "xor", 0.0, set()),  # stable BCE
    ("2-5-2 relu,identity loss=cross_entropy opt=sgd(lr=0.5,momentum=0.9)", "class", 0.0, set()),
    ("1-8-1 tanh,identity loss=mse opt=rmsprop(lr=0.01)", "sin", 1e-3, set()),
    ("2-4-1 sigmoid,identity loss=mse opt=adagrad(lr=0.3,lr_decay=0.01)", "sin2", 0.0, {"b1"}),
    ("2-6-3 tanh,log_softmax loss=nll opt=adamw(lr=0.02) dtype=float32", "class3", 0.0, set()),
]


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "sin":
        X = np.linspace(-2, 2, 24)[:, None]
        return X, np.sin(2 * X)
    X = rng.normal(size=(24, 2))
    if kind == "xor":
        return X, ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(float)[:, None]
    if kind == "sin2":
        return X, np.sin(X.sum(1, keepdims=True))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5 if kind == "class3" else 0)


@pytest.mark.parametrize("at_once", [numpy_many.train_many_numpy, many_starts.train_many_torch])
@pytest.mark.parametrize("text, kind, l2, frozen", CASES)
def test_starts_at_once_follow_the_runs_one_at_a_time(text, kind, l2, frozen, at_once):
    spec = Spec.parse(text)
    X, y = _data(kind)
    X = X.astype(spec.dtype)
    y = y.astype(spec.dtype) if y.dtype.kind == "f" else y
    ref = Reference(spec, frozen, l2)
    starts = []
    for seed in range(4):
        P = build(spec).init_params(seed=seed)
        starts.append({**P, **{n: np.zeros_like(P[n]) for n in frozen}})
    fits = criterion(spec, y).fits
    many = at_once(ref, spec, starts, [(X, y)], 250, frozen, fits)
    assert many is not None
    alone = [ref.train_torch(spec, P, [(X, y)], 250, frozen, fits) for P in starts]
    tol = 1e-8 if spec.dtype == "float64" else 2e-3
    assert [r.fit for r in many] == [r.fit for r in alone]
    assert [r.steps for r in many] == [r.steps for r in alone]
    assert max(r.steps for r in alone) > 25  # a run long enough to follow
    for a, b in zip(many, alone, strict=True):
        np.testing.assert_allclose(a.losses, b.losses, rtol=tol, atol=tol)
        np.testing.assert_allclose(a.out, b.out, rtol=tol, atol=tol)
        for n in b.params:
            np.testing.assert_allclose(a.params[n], b.params[n], rtol=tol, atol=tol)
        for n in frozen:
            assert not a.params[n].any()


def test_a_clip_by_norm_or_one_start_is_left_to_the_caller():
    spec = Spec.parse(CASES[0][0])
    X, y = _data("xor")
    starts = [build(spec).init_params(seed=s) for s in range(3)]
    fits = criterion(spec, y).fits
    clip = Reference(spec, set(), clip=(0.0, 1.0))
    assert train_many(clip, spec, starts, [(X, y)], 50, set(), fits) is None
    assert train_many(Reference(spec, set()), spec, starts[:1], [(X, y)], 50, set(), fits) is None


def test_a_loss_vmap_does_not_carry_is_left_to_the_caller(monkeypatch):
    spec = Spec.parse(CASES[2][0])
    X, y = _data("sin")
    starts = [build(spec).init_params(seed=s) for s in range(3)]
    fits = criterion(spec, y).fits

    def refused(self, params, Xb, yb):
        raise RuntimeError("vmap: no batching rule")

    monkeypatch.setattr(many_starts._Many, "losses", refused)
    ref = Reference(spec, set())
    assert many_starts.train_many_torch(ref, spec, starts, [(X, y)], 50, set(), fits) is None


def test_stacked_losses_that_differ_from_one_by_one_are_left_to_the_caller(monkeypatch):
    spec = Spec.parse(CASES[2][0])
    X, y = _data("sin")
    starts = [build(spec).init_params(seed=s) for s in range(3)]
    fits = criterion(spec, y).fits
    losses = many_starts._Many.losses
    monkeypatch.setattr(many_starts._Many, "losses", lambda *a: 2 * losses(*a))
    ref = Reference(spec, set())
    assert many_starts.train_many_torch(ref, spec, starts, [(X, y)], 50, set(), fits) is None


def test_a_scratch_that_parts_from_pytorch_at_step_1_leaves_the_starts_to_pytorch(monkeypatch):
    """Scratch's RMSprop planted with a doubled step: NumPy refuses, PyTorch trains them."""
    import dataclasses

    from nnparity.scratch import optimizers

    spec = Spec.parse(CASES[2][0])
    X, y = _data("sin")
    starts = [build(spec).init_params(seed=s) for s in range(3)]
    fits = criterion(spec, y).fits
    ref = Reference(spec, set())
    assert numpy_many.train_many_numpy(ref, spec, starts, [(X, y)], 50, set(), fits) is not None
    variant = optimizers["rmsprop"]

    def make(**kw):
        opt = variant.make(**kw)
        return opt._replace(
            update=lambda g, st, p, **k: opt.update({n: 2 * v for n, v in g.items()}, st, p, **k)
        )

    monkeypatch.setitem(optimizers._variants, "rmsprop", dataclasses.replace(variant, make=make))
    build.cache_clear()
    assert numpy_many.train_many_numpy(ref, spec, starts, [(X, y)], 50, set(), fits) is None
    runs = train_many(ref, spec, starts, [(X, y)], 50, set(), fits)  # PyTorch's, stacked
    want = [ref.train_torch(spec, P, [(X, y)], 50, set(), fits) for P in starts]
    assert runs is not None and [r.losses[-1] for r in runs] == pytest.approx(
        [r.losses[-1] for r in want], rel=1e-8
    )
    monkeypatch.undo()
    build.cache_clear()
