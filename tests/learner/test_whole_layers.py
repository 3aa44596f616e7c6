"""Whole learner networks with conv, pooling, batchnorm and dropout (a layered ``spec=``)
through the adapters: the examples, correct ones ``match`` and buggy ones named; bugs planted
in a whole network (flipped kernel, batchnorm dx without the mean's term, the variance over
N - 1, max-pool gradient to the whole window, dropout's mask forgotten or drawn afresh in
backward, another running-average convention) named with their layer. Dropout's mask recovery:
test_whole_layers_masks.py."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLES, load_example

from nnparity.reference.learner import LearnerError, check, from_loss


@pytest.fixture(autouse=True)
def _seeded_numpy():
    """NumPy's global generator, which the examples' dropout draws from, seeded per test: it
    starts from OS entropy, and for some draws a forward bug in a dropout network leaves the
    masks unrecovered (an honest exit 2, said in the README) instead of named."""
    state = np.random.get_state()
    np.random.seed(2026)
    yield
    np.random.set_state(state)


_load = load_example


def _run(adapter, steps: int = 2):
    X, y = adapter.data
    return check(adapter, X, y, steps=steps)


def _bugs(result) -> list[str]:
    return [f.code for f in result.findings if f.kind == "bug"]


@pytest.mark.parametrize("stem", ["net_fc_bn_dropout_ok", "net_convnet_ok", "net_nnfs_dropout_ok"])
def test_correct_examples_match(stem):
    r = _run(_load(stem).nnparity_adapter(), steps=3)
    assert r.code == "match", r.render()
    assert not _bugs(r) and r.steps == 3
    assert all(row.first_bad_step is None for row in r.table)
    assert [f.code for f in r.unchecked] == ["update_not_compared", "loop_not_run"]  # declared step


@pytest.mark.parametrize(
    ("stem", "code", "layer"),
    [
        ("net_fc_bn_dropout_bug", "batchnorm_backward", 5),
        ("net_convnet_bug", "pool_routing", 1),
        ("net_nnfs_dropout_bug", "dropout_mask", 2),
    ],
)
def test_buggy_examples_are_named_with_their_layer(stem, code, layer):
    r = _run(_load(stem).nnparity_adapter())
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert (f.code, f.layer, f.step) == (code, layer, 1), r.render()


# -- CS231n FullyConnectedNet: batchnorm and dropout ---------------------------------------


def _fc(m, model=None, **kw):
    model = model or m.FullyConnectedNet(
        [8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm", seed=kw.pop("seed", None)
    )
    kw.setdefault("convention", "cs231n")
    return from_loss(
        model.params,
        model.loss,
        names=["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"],
        forward=model.loss,
        spec=m.SPEC,
        owner=model,
        buffers=[f"bn_params[{i}]['{k}']" for i in (0, 1) for k in ("running_mean", "running_var")],
        data=(m.X, m.Y),
        **kw,
    )


def test_batchnorm_dx_without_the_mean_term_is_batchnorm_backward():
    m = _load("net_fc_bn_dropout_ok")

    def backward(dout, cache):
        xhat, gamma, var, eps = cache
        dxhat = dout * gamma
        dx = (dxhat - xhat * (dxhat * xhat).mean(axis=0)) / np.sqrt(var + eps)  # no mean term
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)

    m.batchnorm_backward = backward
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "batchnorm_backward", 5)
    assert "batch mean's term" in f.evidence


def test_batchnorm_variance_over_n_minus_1_is_never_a_match():
    m = _load("net_fc_bn_dropout_ok")
    src = (EXAMPLES / "net_fc_bn_dropout_ok.py").read_text()
    assert "var = x.var(axis=0)\n" in src
    ns: dict = {"np": np}
    body = src[src.index("def batchnorm_forward") : src.index("def batchnorm_backward")]
    exec(body.replace("var = x.var(axis=0)\n", "var = x.var(axis=0, ddof=1)\n"), ns)
    m.batchnorm_forward = ns["batchnorm_forward"]
    r = _run(_fc(m))
    assert r.code == "implementation_bug"
    assert r.findings[0].code == "batchnorm_variance", r.render()
    assert "reproduces your loss" in r.findings[0].evidence
    # its echoes in the running statistics are notes, not bugs of their own (review s59b F12)
    assert all(f.kind == "note" for f in r.findings if f.code == "batchnorm_running"), r.render()


def test_other_running_average_convention_is_batchnorm_running_with_the_declaration_fix():
    m = _load("net_fc_bn_dropout_ok")  # CS231n's running average, declared as PyTorch's
    r = _run(_fc(m, convention="torch", p="keep"))
    assert r.code == "implementation_bug"
    f = r.findings[0]
    assert f.code == "batchnorm_running" and f.layer == 2
    assert "momentum='cs231n'" in f.hint and "biased variance" in f.evidence
    assert not [x for x in r.findings if x.code in ("layer_mismatch", "batchnorm_backward")]


def test_running_statistics_updated_twice_are_batchnorm_running():
    m = _load("net_fc_bn_dropout_ok")
    ok_forward = m.batchnorm_forward

    def forward(x, gamma, beta, bn_param):
        ok_forward(x, gamma, beta, bn_param)
        return ok_forward(x, gamma, beta, bn_param)

    m.batchnorm_forward = forward
    r = _run(_fc(m))
    assert r.code == "implementation_bug" and r.findings[0].code == "batchnorm_running"
    assert "0.9^2: the update applied 2 times a pass" in r.findings[0].evidence, r.render()
    assert r.findings[0].hint.startswith("apply running = m * running + (1 - m) * batch once")


def test_dropout_mask_forgotten_in_backward_is_dropout_mask():
    m = _load("net_fc_bn_dropout_ok")
    m.dropout_backward = lambda dout, cache: dout
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "dropout_mask"), r.render()
    assert "no mask" in f.evidence and "mask / keep" in f.hint


def test_dropout_p_read_the_other_way_is_never_a_match():
    m = _load("net_fc_bn_dropout_ok")  # p keeps 0.75, declared as dropping 0.75
    r = _run(_fc(m, convention="torch", momentum="cs231n"))
    assert r.code == "implementation_bug", r.render()


def test_declared_seed_gives_the_mask_and_a_wrong_seed_is_not_a_match():
    m = _load("net_fc_bn_dropout_ok")
    r = _run(_fc(m, seed=123, dropout_seed=123))
    assert r.code == "match", r.render()
    assert not [f for f in r.findings if f.code == "dropout_replayed"]
    with pytest.raises(LearnerError, match="not the declared dropout_seed=124's"):
        _run(_fc(m, seed=123, dropout_seed=124))  # refused: the declaration, not the code


def test_dropout_in_eval_mode_is_a_forward_finding():
    m = _load("net_fc_bn_dropout_ok")
    ok = m.dropout_forward

    def forward(x, dp):
        out, cache = ok(x, dp)
        return (out * dp["p"], cache) if dp["mode"] == "test" else (out, cache)

    m.dropout_forward = forward
    r = _run(_fc(m))
    assert r.code == "implementation_bug"
    assert r.findings[0].params == ("forward",) and "eval" in r.findings[0].evidence


def test_sign_flipped_last_layer_gradient_is_sign_flip_at_that_layer():
    m = _load("net_fc_bn_dropout_ok")
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    own = model.loss

    def loss(X, y=None):
        if y is None:
            return own(X)
        value, grads = own(X, y)
        grads["W3"] = -grads["W3"]
        return value, grads

    model.loss = loss
    r = _run(_fc(m, model=model))
    f = r.findings[0]
    assert (f.code, f.layer, f.params) == ("sign_flip", 7, ("W3",)), r.render()


def test_a_doubled_batchnorm_dx_is_named_at_the_batchnorm_not_the_dense_layer_below():
    """The dense layer below is the first to part, but its gradients and all below are
    multiples of PyTorch's: the gradient it is handed is off, by batchnorm's dx."""
    m = _load("net_fc_bn_dropout_ok")
    ok = m.batchnorm_backward

    def backward(dout, cache):
        dx, dgamma, dbeta = ok(dout, cache)
        return 2 * dx, dgamma, dbeta

    m.batchnorm_backward = backward
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code, f.layer, f.params) == ("implementation_bug", "scale_factor", 5, ("W2",))
    assert "handed down to layer 4" in f.evidence and "batchnorm (layer 5)" in f.hint, r.render()


@pytest.mark.parametrize("fx", [1.0, 3.0, -1.0])
def test_a_doubled_dw_of_one_dense_layer_is_named_at_that_layer(fx):
    """Its own dW and db doubled, its dx times ``fx``: the layers below part by fx, not by a
    power of 2, so it is not what a doubled gradient handed down would do (review s5)."""
    m = _load("net_fc_bn_dropout_ok")
    ok = m.affine_backward

    def backward(dout, cache):
        dx, dw, db = ok(dout, cache)
        if dw.shape == (8, 8):  # W2 only
            return fx * dx, 2 * dw, 2 * db
        return dx, dw, db

    m.affine_backward = backward
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code, f.layer, f.params) == ("implementation_bug", "scale_factor", 4, ("W2",))
    assert "handed down" not in f.evidence, r.render()


# -- ThreeLayerConvNet ---------------------------------------------------------------------


def test_flipped_kernel_in_a_convnet_is_conv_flip():
    m = _load("net_convnet_ok")
    fwd, bwd = m.conv_forward_naive, m.conv_backward_naive

    def forward(x, w, b, p):  # true convolution: the kernel flipped
        return fwd(x, w[:, :, ::-1, ::-1].copy(), b, p)

    def backward(dout, cache):
        dx, dw, db = bwd(dout, cache)
        return dx, dw[:, :, ::-1, ::-1].copy(), db

    m.conv_forward_naive, m.conv_backward_naive = forward, backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "conv_flip", 1), r.render()


def test_convnet_dw_of_the_last_sample_only_is_not_a_match():
    m = _load("net_convnet_ok")
    bwd = m.conv_backward_naive

    def backward(dout, cache):
        x, w, b, p = cache
        dx, dw, db = bwd(dout[-1:], (x[-1:], w, b, p))
        return dx, dw, db

    m.conv_backward_naive = backward
    r = _run(m.nnparity_adapter())
    assert r.code == "implementation_bug"
    assert r.findings[0].layer == 1 and "W1" in r.findings[0].params[0] + r.findings[0].evidence


def test_convnet_with_weights_listed_in_another_order_is_refused():
    m = _load("net_convnet_ok")
    model = m.ThreeLayerConvNet()
    a = from_loss(
        model.params,
        model.loss,
        names=["W2", "b2", "W1", "b1", "W3", "b3"],
        spec=m.SPEC,
        data=(m.X, m.Y),
    )
    with pytest.raises(LearnerError, match="has shape"):
        _run(a)


def test_an_exception_in_the_learner_is_its_own_finding():
    m = _load("net_convnet_ok")
    m.max_pool_backward_naive = lambda dout, cache: 1 / 0
    r = _run(m.nnparity_adapter())
    assert r.code == "implementation_bug"
    assert (
        r.findings[0].code == "learner_exception" and "ZeroDivisionError" in r.findings[0].evidence
    )


def test_l2_declared_as_cs231n_reg_matches_and_undeclared_does_not():
    m = _load("net_convnet_ok")
    model = m.ThreeLayerConvNet()
    own = model.loss

    def loss(X, y=None):  # CS231n's reg: 0.5 * reg * sum(W^2) for every W, dW += reg * W
        if y is None:
            return own(X)
        value, grads = own(X, y)
        for k in ("W1", "W2", "W3"):
            value += 0.5 * 0.1 * np.sum(model.params[k] ** 2)
            grads[k] = grads[k] + 0.1 * model.params[k]
        return value, grads

    model.loss = loss
    a = from_loss(model.params, loss, spec=m.SPEC, l2=0.1, data=(m.X, m.Y))
    assert _run(a).code == "match"
    a = from_loss(model.params, loss, spec=m.SPEC, data=(m.X, m.Y))
    assert _run(a).code == "implementation_bug"


def test_names_that_do_not_fit_the_spec_say_the_order():
    m = _load("net_convnet_ok")
    model = m.ThreeLayerConvNet()
    a = from_loss(model.params, model.loss, names=["W1", "b1", "W2"], spec=m.SPEC, data=(m.X, m.Y))
    with pytest.raises(LearnerError, match="in this order: W1, b1, W2, b2, W3, b3"):
        _run(a)


def test_an_unbiased_running_variance_under_cs231n_is_told_the_declaration_that_fits():
    """Review s6: the fix said momentum='torch', which also moves running_var's start, and
    following it gave a new mismatch; running_var='unbiased' alone is what fits."""
    m = _load("net_fc_bn_dropout_ok")
    forward = m.batchnorm_forward

    def unbiased(x, gamma, beta, bn_param):
        out, cache = forward(x, gamma, beta, bn_param)
        if bn_param["mode"] == "train":  # redo the running variance with the unbiased one
            n, mom = len(x), bn_param.get("momentum", 0.9)
            old = (bn_param["running_var"] - (1 - mom) * x.var(axis=0)) / mom
            bn_param["running_var"] = mom * old + (1 - mom) * x.var(axis=0) * n / (n - 1)
        return out, cache

    m.batchnorm_forward = unbiased
    r = _run(_fc(m, seed=3))
    f = r.findings[0]
    assert f.code == "batchnorm_running" and f.hint == "declare running_var='unbiased'", r.render()
    assert _run(_fc(m, seed=3, running_var="unbiased")).code == "match"


def test_a_loss_summed_over_the_batch_is_told_reduction_sum_and_may_declare_it():
    m = _load("net_fc_bn_dropout_ok")
    mean = m.softmax_loss

    def summed(x, y):
        loss, dx = mean(x, y)
        return loss * len(x), dx * len(x)

    m.softmax_loss = summed

    def adapter(**kw):  # no dropout: a loss N times PyTorch's leaves no mask to replay
        model = m.FullyConnectedNet([8, 8], 5, 3, normalization="batchnorm")
        spec = "5 dense(8) batchnorm relu dense(8) batchnorm relu dense(3) loss=cross_entropy"
        return from_loss(
            model.params, model.loss, names=list(model.params), forward=model.loss,
            spec=spec + " opt=sgd(lr=0.1)", owner=model, convention="cs231n", data=(m.X, m.Y),
            buffers=[f"bn_params[{i}]['{k}']" for i in (0, 1) for k in ("running_mean",
                                                                        "running_var")],
            **kw,
        )  # fmt: skip

    r = _run(adapter())
    f = r.findings[0]
    assert f.code == "scale_factor" and "declare reduction='sum'" in f.hint, r.render()
    assert _run(adapter(reduction="sum")).code == "match"


def test_a_gradient_buffer_added_into_and_never_reset_is_gradient_accumulation():
    """Review s6: a conv's dW added into (+=) across passes read as a generic mismatch."""
    m = _load("net_fc_bn_dropout_ok")
    model = m.FullyConnectedNet([8, 8], 5, 3, dropout_keep_ratio=0.75, normalization="batchnorm")
    fresh, buf = model.loss, {}

    def loss(X, y=None):
        out = fresh(X, y)
        if y is None:
            return out
        value, g = out
        buf["W2"] = buf.get("W2", 0.0) + g["W2"]
        return value, {**g, "W2": buf["W2"].copy()}

    model.loss = loss
    r = _run(_fc(m, model), steps=3)
    f = r.findings[0]
    assert (f.code, f.params, f.step) == ("gradient_accumulation", ("W2",), 2), r.render()
