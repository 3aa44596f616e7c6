"""Per-layer checks: correct layers in two styles pass with ``match``; each planted bug (one
edit of a correct layer) is named with its catalogue class (17-21, and the dense classes
sign_flip / scale_factor / transposed where they apply); declared conventions are honoured."""

from __future__ import annotations

import layer_impls as L
import numpy as np
import pytest

from nnparity.reference.learner import LearnerError, check_layers, layer_check
from nnparity.reference.learner.per_layer import check_layer

OK_EXAMPLES = {
    "layers_affine_ok": "affine",
    "layers_batchnorm_ok": "batchnorm",
    "layers_dropout_ok": "dropout",
    "layers_conv_ok": "conv",
    "layers_maxpool_ok": "max_pool",
    "layers_layernorm_ok": "layernorm",
}
BUG_EXAMPLES = {  # file: the codes nnparity must name
    "layers_affine_bug": {"transposed", "scale_factor"},
    "layers_batchnorm_bug": {"batchnorm_backward"},
    "layers_dropout_bug": {"dropout_mask"},
    "layers_conv_bug": {"conv_flip"},
    "layers_maxpool_bug": {"pool_routing"},
    "layers_layernorm_bug": {"layernorm_axis"},
}


def _codes(verdict) -> set[str]:
    return {f.code for f in verdict.findings}


@pytest.mark.parametrize("stem", sorted(OK_EXAMPLES))
def test_correct_cs231n_layer_matches(stem):
    result = check_layers(L.example(stem).nnparity_layers())
    (v,) = result.layers
    assert v.layer == OK_EXAMPLES[stem]
    assert v.code == "match", v.render()
    assert result.passed and result.code == "match"


@pytest.mark.parametrize("stem", sorted(BUG_EXAMPLES))
def test_buggy_cs231n_layer_is_named(stem):
    result = check_layers(L.example(stem).nnparity_layers())
    (v,) = result.layers
    assert v.code == "implementation_bug"
    assert _codes(v) == BUG_EXAMPLES[stem], v.render()
    assert not result.passed


SECOND_STYLE = {
    "affine": (L.nnfs_affine, {}),
    "dropout": (L.nnfs_dropout, {}),
    "batchnorm": (L.vec_batchnorm, {}),
    "spatial_batchnorm": (L.vec_batchnorm, {}),
    "layernorm": (L.vec_layernorm, {}),
    "conv": (L.vec_conv, {}),
    "max_pool": (L.vec_pool, {}),
}


@pytest.mark.parametrize("layer", sorted(SECOND_STYLE))
def test_correct_layer_in_a_second_style_matches(layer):
    make, kw = SECOND_STYLE[layer]
    v = check_layer(layer_check(*make(), layer=layer, **kw))
    assert v.code == "match", v.render()


def test_edge_cases_are_probed():
    """Ties in max-pool, padding, a stride that skips columns, a batch of 2, eval mode."""
    names = {
        layer: " | ".join(check_layer(layer_check(*make(), layer=layer)).cases)
        for layer, (make, _) in SECOND_STYLE.items()
    }
    assert "ties" in names["max_pool"] and "overlapping" in names["max_pool"]
    assert "pad 1" in names["conv"] and "skips columns" in names["conv"]
    assert "batch of 2" in names["batchnorm"] and "eval mode" in names["batchnorm"]
    assert "eval mode" in names["dropout"]


# -- planted bugs: one edit each -------------------------------------------------------------


def _bn_fwd(ddof=0, store=True, momentum_rule="pytorch", stats_axis=0):
    def fwd(x, gamma, beta, bp):
        if bp["mode"] != "train":
            rm, rv = bp["running_mean"], bp["running_var"]
            return gamma * (x - rm) / np.sqrt(rv + bp["eps"]) + beta, None
        mu = x.mean(axis=stats_axis, keepdims=True)
        var = x.var(axis=stats_axis, ddof=ddof, keepdims=True)
        xhat = (x - mu) / np.sqrt(var + bp["eps"])
        m, n = bp["momentum"], len(x)
        unb = x.var(axis=0, ddof=1)
        if store and momentum_rule == "pytorch":
            bp["running_mean"] = (1 - m) * bp["running_mean"] + m * x.mean(axis=0)
            bp["running_var"] = (1 - m) * bp["running_var"] + m * unb
        elif store:  # CS231n's rule on PyTorch's momentum value
            bp["running_mean"] = m * bp["running_mean"] + (1 - m) * x.mean(axis=0)
            bp["running_var"] = m * bp["running_var"] + (1 - m) * unb
        assert n >= 2
        return gamma * xhat + beta, (xhat, gamma, var, bp["eps"])

    return fwd


def _bn_bwd(terms="all"):
    def bwd(dout, cache):
        xhat, gamma, var, eps = cache
        dxhat = dout * gamma
        full = terms in ("all", "noeps")
        mean_term = dxhat.mean(axis=0) if "mean" in terms or full else 0
        var_term = xhat * (dxhat * xhat).mean(axis=0) if "var" in terms or full else 0
        dx = (dxhat - mean_term - var_term) / np.sqrt(var + (0 if terms == "noeps" else eps))
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)

    return bwd


def _dropout(scale_train=True, scale_test=False, mask_in_backward=True, keep_is_p=False):
    def fwd(x, dp):
        keep = dp["p"] if keep_is_p else 1 - dp["p"]
        np.random.seed(dp["seed"])
        if dp["mode"] != "train":
            return (x / keep if scale_test else x), None
        mask = np.random.rand(*x.shape) < keep
        return x * mask / (keep if scale_train else 1), (mask, keep)

    def bwd(dout, cache):
        mask, keep = cache
        return (dout * mask if mask_in_backward else dout) / keep

    return fwd, bwd


def _conv_edit(edit):
    def fwd(x, w, b, cp):
        s, pad = cp["stride"], cp["pad"]
        use_pad = 0 if edit == "no_pad" else pad
        xp = np.pad(x, ((0, 0), (0, 0), (use_pad, use_pad), (use_pad, use_pad)))
        f, _, hh, ww = w.shape
        ho = 1 + (x.shape[2] + 2 * use_pad - hh) // s
        wo = 1 + (x.shape[3] + 2 * use_pad - ww) // s
        step = 1 if edit == "origin" else s
        out = np.zeros((len(x), f, ho, wo))
        for i in range(ho):
            for j in range(wo):
                win = xp[:, :, i * step : i * step + hh, j * step : j * step + ww]
                out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
        return out, (x, w, cp)

    def bwd(dout, cache):
        x, w, cp = cache
        _, dx, dw, db = (None, *L.vec_conv()[1](dout, (_cols(x, w, cp), w, cp)))
        if edit == "dw_last":
            dw = L.vec_conv()[1](dout[-1:], (_cols(x[-1:], w, cp), w, cp))[1]
        if edit == "db_positions":
            db = dout.sum(axis=0)
        if edit == "dw_dout_flipped":  # convolve2d(x, dout) where correlate2d belongs
            dw = L.vec_conv()[1](dout[:, :, ::-1, ::-1].copy(), (_cols(x, w, cp), w, cp))[1]
        if edit == "dw_per_sample":
            dw = np.stack(
                [
                    L.vec_conv()[1](dout[i : i + 1], (_cols(x[i : i + 1], w, cp), w, cp))[1]
                    for i in range(len(x))
                ]
            )
        return dx, dw, db

    return fwd, bwd


def _cols(x, w, cp):
    from nnparity.scratch.layers import conv2d

    return conv2d(x, w, None, cp["stride"], cp["pad"])[1]


def _pool_bwd(rule):
    from nnparity.reference.learner.layer_cases import Case
    from nnparity.reference.learner.layer_variants import _pool_route

    fwd, _ = L.vec_pool()

    def bwd(dout, cache):
        x, win, s = cache
        ph, pw = win.shape[-2:]
        case = Case("", x, {}, {"pool_height": ph, "pool_width": pw, "stride": s})
        return _pool_route(rule)(case, dout)["dx"]

    return fwd, bwd


def _ln_edit(edit):
    fwd, bwd = L.vec_layernorm()

    def bwd2(dout, cache):
        dx, dgamma, dbeta = bwd(dout, cache)
        if edit == "param_axis":
            xhat = cache[0].xhat
            return dx, (dout * xhat).sum(axis=1), dout.sum(axis=1)
        if edit == "constants":
            return dout * cache[1] * cache[0].rstd, dgamma, dbeta
        return dx, dgamma, dbeta

    return fwd, bwd2


def _affine_edit(edit):
    fwd, bwd = (
        L.example("layers_affine_ok").affine_forward,
        L.example("layers_affine_ok").affine_backward,
    )

    def bwd2(dout, cache):
        dx, dw, db = bwd(dout, cache)
        if edit == "sign":
            return -dx, dw, db
        if edit == "transposed_square":
            return dx, (dw.T if dw.shape[0] == dw.shape[1] else dw), db
        return dx, dw, db

    return fwd, bwd2


PLANTED = {  # name: (layer, (forward, backward), declared conventions, code, tensor)
    "bn unbiased variance": (
        "batchnorm",
        (_bn_fwd(ddof=1), _bn_bwd()),
        {},
        "batchnorm_variance",
        "out",
    ),
    "bn stats over features": (
        "batchnorm",
        (_bn_fwd(stats_axis=1), _bn_bwd()),
        {},
        "layernorm_axis",
        "out",
    ),
    "bn dx no mean term": (
        "batchnorm",
        (_bn_fwd(), _bn_bwd("var")),
        {},
        "batchnorm_backward",
        "dx",
    ),
    "bn dx no variance term": (
        "batchnorm",
        (_bn_fwd(), _bn_bwd("mean")),
        {},
        "batchnorm_backward",
        "dx",
    ),
    "bn dx constants": ("batchnorm", (_bn_fwd(), _bn_bwd("none")), {}, "batchnorm_backward", "dx"),
    "bn running not stored": (
        "batchnorm",
        (_bn_fwd(store=False), _bn_bwd()),
        {},
        "batchnorm_running",
        "running_mean",
    ),
    "bn running cs231n rule undeclared": (
        "batchnorm",
        (_bn_fwd(momentum_rule="cs231n"), _bn_bwd()),
        {},
        "batchnorm_running",
        "running_mean",
    ),
    "dropout mask not in backward": (
        "dropout",
        _dropout(mask_in_backward=False),
        {},
        "dropout_mask",
        "dx",
    ),
    "dropout p as keep": ("dropout", _dropout(keep_is_p=True), {}, "dropout_mask", "out"),
    "dropout not inverted": ("dropout", _dropout(scale_train=False), {}, "dropout_mask", "out"),
    "dropout scaled at test": ("dropout", _dropout(scale_test=True), {}, "dropout_mask", "out"),
    "conv padding left out": ("conv", _conv_edit("no_pad"), {}, "conv_padding", "out"),
    "conv window origin": ("conv", _conv_edit("origin"), {}, "conv_stride", "out"),
    "conv dw last sample": ("conv", _conv_edit("dw_last"), {}, "conv_batch_sum", "dw"),
    "conv dw per sample": ("conv", _conv_edit("dw_per_sample"), {}, "conv_batch_sum", "dw"),
    "conv db per position": ("conv", _conv_edit("db_positions"), {}, "bias_reduction", "db"),
    "conv dw from dout flipped": ("conv", _conv_edit("dw_dout_flipped"), {}, "conv_flip", "dw"),
    "pool to whole window": ("max_pool", _pool_bwd("all"), {}, "pool_routing", "dx"),
    "pool averaged": ("max_pool", _pool_bwd("mean"), {}, "pool_routing", "dx"),
    "pool ties to every maximum": ("max_pool", _pool_bwd("all_max"), {}, "pool_routing", "dx"),
    "pool = where += belongs": ("max_pool", _pool_bwd("assign"), {}, "pool_routing", "dx"),
    "ln grads axis": ("layernorm", _ln_edit("param_axis"), {}, "layernorm_axis", "dgamma"),
    "ln dx constants": ("layernorm", _ln_edit("constants"), {}, "layernorm_backward", "dx"),
    "affine dx sign": ("affine", _affine_edit("sign"), {}, "sign_flip", "dx"),
    "affine dw transposed (square)": (
        "affine",
        _affine_edit("transposed_square"),
        {},
        "transposed",
        "dw",
    ),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_bug_is_named(name):
    layer, (fwd, bwd), kw, code, tensor = PLANTED[name]
    v = check_layer(layer_check(fwd, bwd, layer=layer, **kw))
    assert v.code == "implementation_bug", v.render()
    assert (code, tensor) in {(f.code, f.params[0]) for f in v.findings}, v.render()
    assert all(f.hint for f in v.findings)


def test_pool_assign_is_invisible_without_overlap():
    """``=`` where ``+=`` belongs parts only in the overlapping cases."""
    v = check_layer(layer_check(*_pool_bwd("assign"), layer="max_pool"))
    (f,) = v.findings
    assert "overlapping" in f.evidence


def test_cs231n_running_average_honoured_once_declared():
    ok = L.example("layers_batchnorm_ok")
    fb = (ok.batchnorm_forward, ok.batchnorm_backward)
    assert check_layer(layer_check(*fb, layer="batchnorm", convention="cs231n")).code == "match"
    undeclared = check_layer(layer_check(*fb, layer="batchnorm"))
    assert _codes(undeclared) == {"batchnorm_running"}
    assert "momentum='cs231n'" in undeclared.findings[0].evidence
    # one run cannot tell CS231n's rule at m from a rate hard-coded to m: the fix says both
    # (review s18b: a hard-coded 0.1 rm + 0.9 mu was told to declare one rule, then the other)
    assert "hard-codes the rate" in undeclared.findings[0].hint
    # momentum declared, the biased variance stored: running_var alone is named
    half = check_layer(layer_check(*fb, layer="batchnorm", momentum="cs231n"))
    assert {f.params[0] for f in half.findings} == {"running_var"}
    assert "running_var='biased'" in half.findings[0].evidence


def test_dropout_keep_probability_honoured_once_declared():
    ok = L.example("layers_dropout_ok")
    fb = (ok.dropout_forward, ok.dropout_backward)
    assert check_layer(layer_check(*fb, layer="dropout", p="keep")).code == "match"
    v = check_layer(layer_check(*fb, layer="dropout"))
    assert _codes(v) == {"dropout_mask"}
    assert "keep" in v.findings[0].hint


def test_batch_of_two_dx_judged_against_its_terms():
    """At N=2 batchnorm's true dx is ~0: a correct dx (round-off only) passes, and the
    constants bug (dx of the size of its terms) is still caught at N=2."""
    v = check_layer(layer_check(*L.vec_batchnorm(), layer="batchnorm"))
    assert v.code == "match" and "batch of 2" in v.cases
    bad = check_layer(layer_check(_bn_fwd(), _bn_bwd("none"), layer="batchnorm"))
    assert "batch of 2" in bad.findings[0].evidence or "2 more" in bad.findings[0].evidence


def test_eval_mode_forward_is_checked():
    def fwd(x, gamma, beta, bp):  # bug: batch statistics in test mode too
        return _bn_fwd()(x, gamma, beta, {**bp, "mode": "train"})

    v = check_layer(layer_check(fwd, _bn_bwd(), layer="batchnorm"))
    assert v.code == "implementation_bug"
    assert any("eval mode" in f.evidence and f.params == ("out",) for f in v.findings)


def test_a_crashing_layer_is_a_finding_with_its_line():
    def fwd(x, w, b):
        raise ValueError("shapes do not align")

    v = check_layer(layer_check(fwd, None, layer="affine"))
    assert _codes(v) == {"layer_error"}
    assert "shapes do not align" in v.findings[0].evidence


def test_bad_declarations_are_refused_with_the_fix():
    with pytest.raises(LearnerError, match="unknown layer 'convolution'.*conv"):
        layer_check(print, print, layer="convolution")
    with pytest.raises(LearnerError, match="'drop' or 'keep'"):
        layer_check(print, print, layer="dropout", p="keep_prob")


def test_json_form_has_one_verdict_per_layer():
    checks = (
        L.example("layers_conv_ok").nnparity_layers()
        + L.example("layers_conv_bug").nnparity_layers()
    )
    d = check_layers(checks).as_dict()
    assert d["code"] == "implementation_bug"
    assert [x["code"] for x in d["layers"]] == ["match", "implementation_bug"]
    assert d["findings"][0]["code"] == "conv_flip"


def test_a_batchnorm_dx_without_eps_is_no_one_over_n():
    """Review s6: dx without eps in the backward was told 'remove the factor 1 from dx'."""
    v = check_layer(layer_check(_bn_fwd(), _bn_bwd("noeps"), layer="batchnorm"))
    f = next(f for f in v.findings if "dx" in f.params)
    assert "times 1.0000" in f.evidence and "eps left out" in f.hint, v
