"""Two backward slips of a layered network, named by the layer they are in (review s9a: both
were a layer_mismatch of the layer below): a ReLU whose backward masks the incoming gradient by
its own sign, and an affine backward that reads dx back in (N, H, W, C) order where its forward
flattened (N, C, H, W)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_example

from nnparity.reference.learner import check, from_loss


def _convnet(bug: str | None):
    m = load_example("net_convnet_ok")
    affine = m.affine_backward
    if bug == "relu":
        m.relu_backward = lambda d, x: d * (d > 0)
    if bug == "flatten":

        def affine_nhwc(d, c):
            x = c[0]
            dx, dw, db = affine(d, c)
            if x.ndim == 4:
                n, ch, h, w = x.shape
                dx = dx.reshape(n, -1).reshape(n, h, w, ch).transpose(0, 3, 1, 2)
            return dx, dw, db

        m.affine_backward = affine_nhwc
    if bug == "stale":  # the conv keeps its input from the first call only (Zhou's last_input)
        conv, first = m.conv_backward_naive, {}
        m.conv_backward_naive = lambda d, c: conv(d, (first.setdefault("x", c[0]), *c[1:]))
    model = m.ThreeLayerConvNet()
    spec = m.SPEC + " opt=sgd(lr=0.05)"
    return from_loss(model.params, model.loss, forward=model.loss, spec=spec, data=(m.X, m.Y))


@pytest.mark.parametrize(
    ("bug", "code"),
    [
        (None, None),
        ("relu", "wrong_activation_derivative"),
        ("flatten", "flatten_backward"),
        ("stale", "stale_input"),
    ],
)
def test_a_backward_slip_is_named_in_its_own_layer(bug, code):
    r = check(_convnet(bug), steps=2)
    if bug is None:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug" and r.findings[0].code == code, r.render()
    assert np.isfinite(r.findings[0].step)
