"""Two conv layers whose one shared backward divides dW and db by N (dx right): every conv
layer parts by the same factor, which the gradient handed down from the dense layer above
would also give. The fix names both readings (review s9a: only the dx above was named)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_example

from nnparity.reference.learner import check, from_loss


def _module():
    m = load_example("net_convnet_ok")
    return m


M = _module()
SPEC = ("2x6x6 conv(3,k=3,pad=1) relu maxpool(2) conv(3,k=3,pad=1) relu flatten dense(3) "
        "loss=cross_entropy opt=sgd(lr=0.05)")  # fmt: skip


def _adapter(divided: bool):
    r = np.random.RandomState(2)
    P = {"W1": 0.3 * r.randn(3, 2, 3, 3), "b1": np.zeros(3), "W2": 0.3 * r.randn(3, 3, 3, 3),
         "b2": np.zeros(3), "W3": 0.3 * r.randn(27, 3), "b3": np.zeros(3)}  # fmt: skip
    cp, pp = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}

    def conv_back(d, c):
        dx, dw, db = M.conv_backward_naive(d, c)
        if divided == "crop":  # dx cut from the padded gradient at its corner
            x, w, _, _ = c
            dxp = M.conv_backward_naive(d, (np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), w,
                                            c[2], {"stride": 1, "pad": 0}))[0]  # fmt: skip
            return dxp[:, :, : x.shape[2], : x.shape[3]], dw, db
        if divided == "shifted":  # dx one column off: only the layer below can show it
            dx, dw, db = M.conv_backward_naive(d, c)
            return np.roll(dx, 1, axis=3), dw, db
        n = d.shape[0] if divided is True else 1
        return dx, dw / n, db / n

    def loss(X, y=None):
        a1, c1 = M.conv_forward_naive(X, P["W1"], P["b1"], cp)
        r1, c2 = M.relu_forward(a1)
        p1, c3 = M.max_pool_forward_naive(r1, pp)
        a2, c4 = M.conv_forward_naive(p1, P["W2"], P["b2"], cp)
        r2, c5 = M.relu_forward(a2)
        s, c6 = M.affine_forward(r2, P["W3"], P["b3"])
        if y is None:
            return s
        L, d = M.softmax_loss(s, y)
        g = {}
        d, g["W3"], g["b3"] = M.affine_backward(d, c6)
        d, g["W2"], g["b2"] = conv_back(M.relu_backward(d, c5), c4)
        d = M.max_pool_backward_naive(d, c3)
        _, g["W1"], g["b1"] = conv_back(M.relu_backward(d, c2), c1)
        return L, g

    return from_loss(P, loss, forward=loss, spec=SPEC, data=(M.X, M.Y))


@pytest.mark.parametrize("divided", [False, True])
def test_a_shared_conv_backward_scaling_dw_and_db_is_named_beside_the_dx_above(divided):
    r = check(_adapter(divided), steps=2)
    if not divided:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    assert "the backward every conv layer shares" in r.findings[0].hint, r.render()


def test_a_conv_dx_cut_at_the_padded_corner_is_conv_padding():
    """Review s9a: dx = dxp[:, :, :H, :W] in place of [pad:pad + H] was a generic mismatch."""
    r = check(_adapter("crop"), steps=2)
    assert r.code == "implementation_bug" and r.findings[0].code == "conv_padding", r.render()


def test_a_dx_handed_down_wrong_by_the_conv_above_is_named_where_the_layer_below_parts():
    """Review s18b: a second conv's dx that ignored its stride parted first at conv 1's dW (conv
    2's own dW and db agree: its dx is not compared), and the fix named conv 1's backward only;
    the pooling between them and conv 2's dx are named as the other places to look."""
    r = check(_adapter("shifted"), steps=2)
    f = r.findings[0]
    assert r.code == "implementation_bug" and f.params == ("W1",), r.render()
    assert "the maxpool above, which routes its gradient" in f.hint, f.hint
    assert "the dx that conv (layer 2) hands down" in f.hint, f.hint
