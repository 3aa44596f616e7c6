"""A correct CS231n spatial batchnorm under ``convention="cs231n"`` (whose bare first call
passes no running statistics) matches, and an exception raised in nnparity's own code while a
layer is checked is an internal error, never the learner's ``layer_error`` (review s25g F1:
the checker's own broadcast failure was graded as the learner's bug, exit 1)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import layer_check
from nnparity.reference.learner import layer_variants as lv
from nnparity.reference.learner.crash import OwnFailure, raised_by_us
from nnparity.reference.learner.per_layer import check_layer


def bn_forward(x, gamma, beta, bn_param):
    eps, m = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    rm = bn_param.get("running_mean", np.zeros(d))
    rv = bn_param.get("running_var", np.zeros(d))
    if bn_param["mode"] == "train":
        mu, var = x.mean(0), x.var(0)
        xhat = (x - mu) / np.sqrt(var + eps)
        out, cache = gamma * xhat + beta, (xhat, gamma, var, eps)
        rm, rv = m * rm + (1 - m) * mu, m * rv + (1 - m) * var
    else:
        out, cache = gamma * (x - rm) / np.sqrt(rv + eps) + beta, None
    bn_param["running_mean"], bn_param["running_var"] = rm, rv
    return out, cache


def bn_backward(dout, cache):
    xhat, gamma, var, eps = cache
    n = dout.shape[0]
    dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def spatial_forward(x, gamma, beta, bn_param):
    n, c, h, w = x.shape
    out, cache = bn_forward(x.transpose(0, 2, 3, 1).reshape(-1, c), gamma, beta, bn_param)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), cache


def spatial_backward(dout, cache):
    n, c, h, w = dout.shape
    dx, dg, db = bn_backward(dout.transpose(0, 2, 3, 1).reshape(-1, c), cache)
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dg, db


@pytest.mark.parametrize(
    ("layer", "fb"),
    [("spatial_batchnorm", (spatial_forward, spatial_backward)),
     ("batchnorm", (bn_forward, bn_backward))],
)  # fmt: skip
def test_correct_cs231n_batchnorm_matches_with_its_bare_first_call(layer, fb):
    v = check_layer(layer_check(*fb, layer=layer, convention="cs231n"))
    assert v.code == "match", v.render()
    assert any("no running statistics" in c for c in v.cases)


def test_our_own_failure_is_raised_not_graded(monkeypatch):
    # the checker's own dx floor fails (an axis its input lacks): raised inside nnparity
    monkeypatch.setattr(lv, "bn_axes", lambda x: (0, 7))
    with pytest.raises(OwnFailure) as e:
        check_layer(layer_check(bn_forward, bn_backward, layer="batchnorm", convention="cs231n"))
    assert raised_by_us(e.value)


def test_the_learners_own_failure_is_still_its_finding():
    def crashing(x, gamma, beta, bn_param):
        return np.ones(2) @ np.ones(3), None  # the learner's shape error

    v = check_layer(layer_check(crashing, bn_backward, layer="batchnorm", convention="cs231n"))
    assert v.code == "implementation_bug"
    assert {f.code for f in v.findings} == {"layer_error"}, v.render()


def test_a_backward_that_returns_other_names_is_still_the_learners_finding():
    def backward(dout, cache):
        dx, dg, db = bn_backward(dout, cache)
        return {"grad_x": dx, "grad_gamma": dg, "grad_beta": db}  # not the names expected

    v = check_layer(layer_check(bn_forward, backward, layer="batchnorm", convention="cs231n"))
    assert {f.code for f in v.findings} == {"layer_error"}, v.render()
