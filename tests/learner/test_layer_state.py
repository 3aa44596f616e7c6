"""What a layer keeps between calls (review s23c F6, F9, F10): batchnorm's running statistics
stored on CS231n's first call (``bn_param`` without them), left alone in test mode, and a
backward that reads its own cache, not a module-level one a second forward overwrote. Each
said match before; correct layers, CS231n's and the object-style ones, still match."""

from __future__ import annotations

import layer_impls as L
import numpy as np

from nnparity.reference.learner import layer_check
from nnparity.reference.learner.per_layer import check_layer

OK = L.example("layers_batchnorm_ok")


def _bn(edit=None):
    def fwd(x, gamma, beta, bp):
        d = x.shape[1]
        rm = bp.get("running_mean", np.zeros(d))
        rv = bp.get("running_var", np.zeros(d))
        m, eps = bp.get("momentum", 0.9), bp.get("eps", 1e-5)
        if bp["mode"] == "train":
            mu, var = x.mean(0), x.var(0)
            xhat = (x - mu) / np.sqrt(var + eps)
            rm *= m  # in place: bn_param's own array, or .get()'s new default
            rm += (1 - m) * mu
            rv *= m
            rv += (1 - m) * var
            if edit != "no_store":
                bp["running_mean"], bp["running_var"] = rm, rv
            return gamma * xhat + beta, (xhat, gamma, var, eps)
        out = gamma * (x - rm) / np.sqrt(rv + eps) + beta
        if edit == "eval_moves":
            bp["running_mean"] = m * rm + (1 - m) * x.mean(0)
        return out, None

    return layer_check(fwd, OK.batchnorm_backward, layer="batchnorm", convention="cs231n")


def _codes(v):
    return {(f.code, f.evidence.split(" ")[0]) for f in v.findings}


def test_statistics_updated_in_place_but_never_stored_are_named():
    assert check_layer(_bn()).code == "match"
    v = check_layer(_bn("no_store"))
    assert _codes(v) == {
        ("batchnorm_running", "running_mean"),
        ("batchnorm_running", "running_var"),
    }
    assert "not stored in bn_param when it holds none yet" in v.findings[0].evidence, v.render()


def test_statistics_moved_in_test_mode_are_named():
    v = check_layer(_bn("eval_moves"))
    assert _codes(v) == {("batchnorm_running", "running_mean")}, v.render()
    assert "moves in test mode" in v.findings[0].evidence


_LAST: dict = {}


def bn_forward_global(x, gamma, beta, bp):
    out, cache = OK.batchnorm_forward(x, gamma, beta, bp)
    _LAST["cache"] = cache
    return out, None


def bn_backward_global(dout, cache):
    return OK.batchnorm_backward(dout, _LAST["cache"])


def test_a_backward_that_reads_a_module_level_cache_is_named():
    lc = layer_check(bn_forward_global, bn_backward_global, layer="batchnorm", convention="cs231n")
    v = check_layer(lc)
    assert [f.code for f in v.findings] == ["layer_state"], v.render()
    assert "another forward call" in v.findings[0].evidence
    assert check_layer(OK.nnparity_layers()[0]).code == "match"


def test_object_style_layers_keep_their_state_by_design():
    """nnfs's layers keep their inputs on the object (one object per network position): a
    closure over one object is not held to the module-level rule."""
    fwd, bwd = L.nnfs_affine()
    assert check_layer(layer_check(fwd, bwd, layer="affine")).code == "match"


def test_a_conv_backward_without_the_rotated_kernel_is_told_to_rotate_it():
    """Review s23c F8: a correct cross-correlation forward whose dx takes the kernel as it is
    (the full convolution's 180-degree rotation left out) was told to remove a flip it never
    wrote; the backward alone is the variant's, and the fix says to add the rotation."""
    from nnparity.scratch.layers import conv2d_vjp

    fwd, bwd = L.vec_conv()

    def unrotated(dout, c):
        dx = conv2d_vjp(c[0], c[1][:, :, ::-1, ::-1], dout, c[2]["stride"], c[2]["pad"])[0]
        return (dx, *bwd(dout, c)[1:])

    assert check_layer(layer_check(fwd, bwd, layer="conv")).code == "match"
    v = check_layer(layer_check(fwd, unrotated, layer="conv"))
    (f,) = v.findings
    assert f.code == "conv_flip" and f.evidence.startswith("dx "), v.render()
    assert "while your forward does not" in f.evidence
    assert f.hint.startswith("in backward, use the kernel rotated 180 degrees"), f.hint


def test_a_dx_near_zero_is_not_read_as_a_scale_factor():
    """Review s23c F7: at a batch of 2, batchnorm's true dx is ~1e-6 under a floor of the
    summed terms' size (~3), so any wrong dx divided by a large enough k was "close": an N - 1
    in the backward was also "dx is PyTorch's times -237571, remove the factor"."""

    def back(dout, cache):
        xhat, gamma, var, eps = cache
        n = len(xhat)
        dxhat = dout * gamma
        x_mu = xhat * np.sqrt(var + eps)
        dvar = (dxhat * x_mu).sum(0) * -0.5 * (var + eps) ** -1.5
        dmu = -dxhat.sum(0) / np.sqrt(var + eps)
        dx = dxhat / np.sqrt(var + eps) + dvar * 2 * x_mu / (n - 1) + dmu / n  # N - 1: the slip
        return dx, (dout * xhat).sum(0), dout.sum(0)

    v = check_layer(layer_check(OK.batchnorm_forward, back, layer="batchnorm", convention="cs231n"))
    assert v.code == "implementation_bug", v.render()
    assert "scale_factor" not in {f.code for f in v.findings}, v.render()
