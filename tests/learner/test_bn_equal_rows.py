"""A batch whose rows are all equal (review s46 F2): every batchnorm channel has variance 0, its
x - mu is 0 exactly, and each side's rounding of it (times 1/sqrt(eps)) decides which side of
ReLU's corner it lands on. CS231n's correct FullyConnectedNet was a bug with three invented
findings (names swapped, running statistics, then dropout masks "drawn as randn"); it matches
now, with a note that those gradients were not determined, and a bug the data still show is
still caught. The allowance itself (``layered_kinks``) is pinned on the engine's side."""

from __future__ import annotations

import numpy as np
import pytest
from test_whole_layers import _load, _run, _seeded_numpy  # noqa: F401 - autouse

from nnparity import Spec, build
from nnparity.reference.layered_kinks import forward_allowances, undetermined
from nnparity.reference.learner import from_loss
from nnparity.scratch import NetState

NAMES = ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
BUFFERS = [f"bn_params[{i}]['{k}']" for i in (0, 1) for k in ("running_mean", "running_var")]


def _equal_rows(keep: float, m=None):
    m = m or _load("net_fc_bn_dropout_ok")
    X = np.tile(np.random.RandomState(3).randn(1, 5), (16, 1))
    Y = np.arange(16) % 3
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=keep, normalization="batchnorm")
    spec = m.SPEC if keep < 1 else m.SPEC.replace(" dropout(0.75)", "")
    a = from_loss(model.params, model.loss, names=NAMES, forward=model.loss, spec=spec,
                  convention="cs231n", owner=model, buffers=BUFFERS, data=(X, Y))  # fmt: skip
    return m, a


@pytest.mark.parametrize("keep", [1, 0.75])
def test_a_correct_batchnorm_net_on_equal_rows_matches_with_the_note(keep):
    _, a = _equal_rows(keep)
    r = _run(a, steps=4)
    assert r.code == "match", r.render()
    note = next(f for f in r.unchecked if f.code == "kink_undetermined")
    assert "W1" in note.params and "b3" not in note.params, r.render()


def test_a_bias_gradient_doubled_is_still_caught_on_equal_rows():
    """The output layer's bias sees the data whatever the kinks do: its bug still shows."""
    m = _load("net_fc_bn_dropout_ok")
    bwd = m.affine_backward

    def doubled(dout, cache):
        dx, dw, db = bwd(dout, cache)
        return dx, dw, 2 * db

    m.affine_backward = doubled
    r = _run(_equal_rows(1, m)[1], steps=2)
    assert r.code == "implementation_bug", r.render()
    assert any("b3" in row.name and row.first_bad_step == 1 for row in r.table), r.render()


SPEC = "5 dense(8) batchnorm relu dense(8) relu dense(3) loss=cross_entropy opt=sgd(lr=0.1)"


def _allowances(X, dtype="float64"):
    spec = Spec.parse(SPEC).replace(batch=len(X), dtype=dtype)
    net = build(spec)
    P = net.init_params(0)
    state = NetState(net.opt.init(P), net.init_buffers(), {})
    y = np.arange(len(X)) % 3
    fwd = forward_allowances(spec, P, X, y, state, {}, float(np.finfo(dtype).eps) / 2)
    grads = net.loss_and_grads(P, X, y, buffers=net.init_buffers())[1]
    return fwd, grads


def test_on_ordinary_data_the_forward_allowance_is_round_off_and_nothing_is_undetermined():
    fwd, grads = _allowances(np.random.default_rng(0).normal(size=(16, 5)))
    assert undetermined(fwd, grads) == []
    for n, g in grads.items():
        assert fwd[("grad", n)].max() <= 1e-12 * np.abs(g).max(), n


def test_on_equal_rows_the_kink_flip_covers_what_a_flip_moves():
    fwd, grads = _allowances(np.tile(np.random.default_rng(0).normal(size=(1, 5)), (16, 1)))
    assert set(undetermined(fwd, grads)) >= {"W1", "b1", "gamma2", "beta2"}
    assert fwd[("buffers", "running_var2")].max() > 0  # a variance of 0 is a rounding too
