"""More slips planted in whole learner networks (review s28 d): a batchnorm dx with a term
summed where its mean belongs, a conv's dw rotated 180 degrees; each named with its layer."""

from __future__ import annotations

import numpy as np
import pytest
from test_whole_layers import _fc, _load, _run, _seeded_numpy  # noqa: F401 - autouse


@pytest.mark.parametrize("term", ["mean", "variance"])
def test_batchnorm_dx_with_a_term_summed_where_its_mean_belongs_is_named(term):
    """Review s28 d: the simplified formula with np.sum where .mean belongs (N times the term)
    was a generic mismatch at the layer below."""
    m = _load("net_fc_bn_dropout_ok")

    def backward(dout, cache):
        xhat, gamma, var, eps = cache
        d = dout * gamma
        m1 = d.sum(axis=0) if term == "mean" else d.mean(axis=0)
        m2 = (d * xhat).sum(axis=0) if term == "variance" else (d * xhat).mean(axis=0)
        return (d - m1 - xhat * m2) / np.sqrt(var + eps), (dout * xhat).sum(0), dout.sum(0)

    m.batchnorm_backward = backward
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_backward"), r.render()
    assert f"{'batch mean' if term == 'mean' else 'variance'}'s term summed" in f.evidence


def test_a_convnet_dw_rotated_180_degrees_is_conv_flip():
    """Review s28 d: dw[:, :, ::-1, ::-1] (forward and dx right) was a generic mismatch."""
    m = _load("net_convnet_ok")
    bwd = m.conv_backward_naive

    def backward(dout, cache):
        dx, dw, db = bwd(dout, cache)
        return dx, dw[:, :, ::-1, ::-1].copy(), db

    m.conv_backward_naive = backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "conv_flip", 1), r.render()
    assert "dw rotated 180 degrees" in f.evidence, r.render()


def test_a_convnet_dw_from_dout_rotated_is_conv_flip():
    """Review s32 F10: The Independent Code's kernels_gradient by convolve2d(x, dout) where
    correlate2d belongs (dout rotated 180 degrees, not dw) was a generic layer_mismatch."""
    m = _load("net_convnet_ok")
    bwd = m.conv_backward_naive

    def backward(dout, cache):
        dx, _, db = bwd(dout, cache)
        _, dw, _ = bwd(dout[:, :, ::-1, ::-1].copy(), cache)
        return dx, dw, db

    m.conv_backward_naive = backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "conv_flip", 1), r.render()
    assert "dw from dout rotated 180 degrees" in f.evidence, r.render()
