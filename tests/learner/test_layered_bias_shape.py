"""A layered network whose bias gradient is not summed over every axis but the units' (a
conv's db summed over the batch only, (F, H, W); a dense db not summed at all, (N, units)) is
the learner's bug, ``bias_reduction`` with the sum to take (review s9a: it exited 2 as an
unusable adapter, "b1's gradient has shape (4, 8, 8)")."""

from __future__ import annotations

import pytest
from conftest import load_example

from nnparity.reference.learner import check, from_loss


def _convnet(bug: str | None):
    m = load_example("net_convnet_ok")
    conv, affine = m.conv_backward_naive, m.affine_backward
    if bug == "conv":
        m.conv_backward_naive = lambda d, c: (*conv(d, c)[:2], d.sum(axis=0))
    if bug == "dense":
        m.affine_backward = lambda d, c: (*affine(d, c)[:2], d)
    model = m.ThreeLayerConvNet()
    spec = m.SPEC + " opt=sgd(lr=0.05)"
    return from_loss(model.params, model.loss, forward=model.loss, spec=spec, data=(m.X, m.Y))


@pytest.mark.parametrize(
    ("bug", "param", "axes"),
    [(None, None, None), ("conv", "b1", "(0, 2, 3)"), ("dense", "b2", "0")],
)
def test_an_unsummed_bias_gradient_is_a_bias_reduction(bug, param, axes):
    r = check(_convnet(bug), steps=2)
    if bug is None:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "bias_reduction" and f.params == (param,), r.render()
    assert f"dout.sum(axis={axes})" in f.hint
