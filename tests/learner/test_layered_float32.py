"""Review s6: a float32 conv under a spatial batchnorm. The analytic round-off bound sums every
term at its worst, and through batchnorm's dx that was thousands of times what a correct float32
program makes: a 0.1% error in the conv's dW, and a batchnorm backward without eps, matched.
The allowance is now at most 16 times how far a correct float32 implementation (scratch) lands
from the float64 twin at the same weights. Tested both ways, on plain and on bright images
(raw pixels of 200 +- 5, where the batch statistics cancel the most)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from test_whole_layers import _seeded_numpy  # noqa: F401 - autouse
from test_whole_layers_review_conv import softmax_ce

from nnparity.reference.learner import check, from_loss

SPEC = (
    "2x8x8 conv(4,k=3,pad=1) batchnorm relu maxpool(2) flatten dense(3) loss=cross_entropy "
    "opt=sgd(lr=0.05)"
)
EPS = 1e-5


class ConvBN32:
    """The network of ``SPEC`` in float32, vectorised; ``bug``: 'dW' (conv dW x (1 + rel)) or
    'noeps' (batchnorm's backward divides by sqrt(var), its forward by sqrt(var + eps))."""

    def __init__(self, bug: str = "", rel: float = 0.0):
        r = np.random.RandomState(2)
        self.bug, self.rel = bug, rel
        self.params = {
            "W1": (0.03 * r.randn(4, 2, 3, 3)).astype(np.float32),  # batch variance ~0.02
            "b1": (0.01 * r.randn(4)).astype(np.float32),
            "gamma": (1 + 0.1 * r.randn(4)).astype(np.float32),
            "beta": (0.1 * r.randn(4)).astype(np.float32),
            "W2": (0.1 * r.randn(4 * 4 * 4, 3)).astype(np.float32),
            "b2": np.zeros(3, np.float32),
        }

    def loss(self, X, y=None):
        p, n = self.params, len(X)
        win = sliding_window_view(np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 3))
        a = np.einsum("nchwij,fcij->nfhw", win, p["W1"]) + p["b1"][None, :, None, None]
        mu = a.mean((0, 2, 3), keepdims=True)
        var = a.var((0, 2, 3), keepdims=True)
        rstd = 1 / np.sqrt(var + EPS)
        xhat = (a - mu) * rstd
        bn = p["gamma"][None, :, None, None] * xhat + p["beta"][None, :, None, None]
        r = np.maximum(bn, 0)
        r6 = r.reshape(n, 4, 4, 2, 4, 2)
        pooled = r6.max(axis=(3, 5))
        f = pooled.reshape(n, -1)
        s = f @ p["W2"] + p["b2"]
        if y is None:
            return s
        loss, d = softmax_ce(s, y)
        g = {"W2": f.T @ d * (1 + (self.rel if self.bug == "dW2" else 0.0)), "b2": d.sum(0)}
        dp = (d @ p["W2"].T).reshape(pooled.shape)
        hit = r6 == pooled[:, :, :, None, :, None]
        first = hit & (hit.cumsum(3).cumsum(5) == 1)
        dbn = (first * dp[:, :, :, None, :, None]).reshape(r.shape) * (bn > 0)
        g["gamma"] = (dbn * xhat).sum((0, 2, 3))
        g["beta"] = dbn.sum((0, 2, 3))
        dxhat = dbn * p["gamma"][None, :, None, None]
        if self.bug == "noeps":
            rstd = 1 / np.sqrt(var)
        m = a.shape[0] * (1 if self.bug == "spatialN" else a.shape[2] * a.shape[3])
        da = (rstd / m) * (
            m * dxhat
            - dxhat.sum((0, 2, 3), keepdims=True)
            - xhat * (dxhat * xhat).sum((0, 2, 3), keepdims=True)
        )
        g["W1"] = np.einsum("nchwij,nfhw->fcij", win, da)
        g["W1"] = g["W1"] * (1 + (self.rel if self.bug == "dW" else 0.0))
        g["b1"] = da.sum((0, 2, 3))
        return loss, {k: v.astype(np.float32) for k, v in g.items()}


def _check(net: ConvBN32, bright: bool = False):
    r = np.random.RandomState(5)
    X = r.randn(8, 2, 8, 8)
    X = 200 + 5 * X if bright else X
    Y = r.randint(0, 3, 8)
    a = from_loss(net.params, net.loss, names=["W1", "b1", "gamma", "beta", "W2", "b2"],
                  forward=None, spec=SPEC)  # fmt: skip
    return check(a, X.astype(np.float32), Y, steps=2)


@pytest.mark.parametrize("bright", [False, True])
def test_a_correct_float32_conv_under_batchnorm_matches(bright):
    r = _check(ConvBN32(), bright)
    assert r.code == "match", r.render()


@pytest.mark.parametrize("rel", [1e-3, 1e-4])
def test_a_small_error_in_the_conv_gradient_under_batchnorm_is_caught(rel):
    r = _check(ConvBN32("dW", rel))
    assert r.code == "implementation_bug", r.render()
    assert r.findings[0].params == ("W1",), r.render()


def test_a_batchnorm_backward_without_eps_is_caught_in_float32():
    r = _check(ConvBN32("noeps"))
    assert r.code == "implementation_bug", r.render()


def test_the_finding_speaks_the_learners_names_with_the_twins_beside():
    """Review s6: the header said [W2], the evidence and fix 'W3' (the twin's name), which is
    another array of the learner's."""
    r = _check(ConvBN32("dW2", 1e-3))
    f = r.findings[0]
    assert f.params == ("W2",), r.render()
    assert "W2 (the twin's W3)" in f.evidence and f.hint.startswith("W2's gradient"), r.render()


def test_a_dense_layer_under_batchnorm_names_its_dx_as_the_other_place_to_look():
    """Review s6: a batchnorm backward without eps parts first at the layer below it, whose
    finding then spoke of that layer alone."""
    r = _check(ConvBN32("noeps"))
    f = r.findings[0]
    assert f.params == ("W1",) and "or the dx that batchnorm (layer 2) hands down" in f.hint, (
        r.render()
    )


def test_a_spatial_batchnorm_backward_averaging_over_the_samples_only_is_named():
    """Review s6: it was blamed on the conv below."""
    r = _check(ConvBN32("spatialN"))
    f = r.findings[0]
    assert f.code == "batchnorm_backward" and f.layer == 2, r.render()
    assert "over the N samples" in f.evidence
