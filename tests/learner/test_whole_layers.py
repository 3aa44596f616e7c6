"""Whole learner networks with conv, pooling, batchnorm and dropout (a layered ``spec=``)
through the adapters: the examples, correct ones ``match`` and buggy ones named; bugs planted
in a whole network (flipped kernel, batchnorm dx without the mean's term, the variance over
N - 1, max-pool gradient to the whole window, dropout's mask forgotten or drawn afresh in
backward, another running-average convention) named with their layer; mask recovery from a
seed, from NumPy's generator, from a layer's mask and from its input and output."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from nnparity.reference.learner import LearnerError, check, from_layers, from_loss

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "learners"
_n = itertools.count()


def _load(stem: str):
    spec = importlib.util.spec_from_file_location(f"wl_{stem}_{next(_n)}", EXAMPLES / f"{stem}.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


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
    assert "fit no running average" in r.findings[0].evidence


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
    r = _run(_fc(m, seed=123, dropout_seed=124))
    assert r.code == "implementation_bug"


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


# -- nnfs layer objects ----------------------------------------------------------------------


def test_nnfs_fresh_mask_in_backward_is_dropout_mask():
    m = _load("net_nnfs_dropout_ok")

    def backward(dvalues):
        fresh = np.random.binomial(1, m.dropout1.rate, size=dvalues.shape) / m.dropout1.rate
        m.dropout1.dinputs = dvalues * fresh

    m.dropout1.backward = backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "dropout_mask", 2), r.render()
    assert "fresh mask" in f.evidence


class _Dropout:
    """A dropout layer that keeps its input and output but not its mask."""

    def __init__(self, rate):
        self.keep = 1 - rate

    def forward(self, x, training=True):
        self.inputs = x
        self.mask = None
        m = np.random.binomial(1, self.keep, size=x.shape) / self.keep if training else 1.0
        self._m = m
        self.output = x * m

    def backward(self, d):
        self.dinputs = d * self._m


def _nnfs_without_mask(spec: str, X, relu: bool):
    m = _load("net_nnfs_dropout_ok")
    rng = np.random.RandomState(0)
    d1, d2 = m.Layer_Dense(4, 6, rng), m.Layer_Dense(6, 3, rng)
    drop = _Dropout(0.5)
    act = m.Activation_ReLU()
    head = m.Activation_Softmax_Loss_CategoricalCrossentropy()

    def fb(X, y):
        d1.forward(X)
        h = d1.output
        if relu:
            act.forward(h)
            h = act.output
        drop.forward(h)
        d2.forward(drop.output)
        loss = head.forward(d2.output, y)
        head.backward(head.output, y)
        d2.backward(head.dinputs)
        drop.backward(d2.dinputs)
        g = drop.dinputs
        if relu:
            act.backward(g)
            g = act.dinputs
        d1.backward(g)
        return loss

    y = np.arange(len(X)) % 3
    return from_layers([d1, d2], fb, spec=spec, masks=[_Dropout_view(drop)], data=(X, y)), drop


class _Dropout_view:
    """Only the input and the output of the layer (no mask attribute)."""

    def __init__(self, layer):
        self.layer = layer

    @property
    def inputs(self):
        return self.layer.inputs

    @property
    def output(self):
        return self.layer.output


def test_mask_from_input_and_output_after_relu_matches():
    X = np.random.RandomState(1).randn(10, 4)
    a, _ = _nnfs_without_mask("4 dense(6) relu dropout(0.5) dense(3) loss=cross_entropy", X, True)
    assert _run(a, steps=3).code == "match"


def test_mask_at_a_zero_input_that_reaches_a_gradient_is_solved_not_guessed():
    # no activation between dense and dropout; zero rows of X with zero biases give exact
    # zeros into dropout, whose mask then decides db1 (db1 = sum of dz over the batch)
    X = np.random.RandomState(2).randn(10, 4)
    X[[1, 4, 7]] = 0.0
    a, _ = _nnfs_without_mask("4 dense(6) dropout(0.5) dense(3) loss=cross_entropy", X, False)
    r = _run(a, steps=3)
    assert r.code == "match", r.render()


def test_declared_sources_of_the_wrong_length_are_refused():
    m = _load("net_nnfs_dropout_ok")
    with pytest.raises(LearnerError, match="1 dropout layer"):
        from_layers(
            [m.dense1, m.dense2],
            m.forward_backward,
            spec=m.nnparity_adapter().layered.spec,
            masks=[m.dropout1, m.dropout1],
        )


def test_mask_forgotten_in_backward_with_zero_inputs_is_still_caught():
    X = np.random.RandomState(2).randn(10, 4)
    X[[1, 4, 7]] = 0.0
    a, drop = _nnfs_without_mask("4 dense(6) dropout(0.5) dense(3) loss=cross_entropy", X, False)

    def backward(d):
        drop.dinputs = d.copy()  # no mask

    drop.backward = backward
    r = _run(a)
    assert r.code == "implementation_bug"
    assert r.findings[0].code == "dropout_mask", r.render()


def test_from_gradients_takes_a_layered_spec_both_ways():
    from nnparity.reference.learner import from_gradients

    m = _load("net_convnet_ok")
    model = m.ThreeLayerConvNet()
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]

    def grads(X, y):
        return model.loss(X, y)[1]

    a = from_gradients(model.params, names, grads, spec=m.SPEC, optimizer="sgd", lr=0.05)
    assert check(a, m.X, m.Y, steps=2).code == "match"

    def doubled(X, y):
        g = model.loss(X, y)[1]
        return {**g, "b2": 2 * g["b2"]}

    a = from_gradients(model.params, names, doubled, spec=m.SPEC)
    r = check(a, m.X, m.Y, steps=2)
    f = r.findings[0]
    assert (r.code, f.code, f.params, f.layer) == ("implementation_bug", "scale_factor", ("b2",), 2)


def test_dropout_masks_that_cannot_be_recovered_are_refused_with_the_fix():
    m = _load("net_nnfs_dropout_ok")

    def fb(X, y):
        m.forward_backward(X, y)  # the loss is not returned, no mask declared

    a = from_layers(
        [m.dense1, m.dense2],
        fb,
        spec="4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy",
        data=(m.X, m.Y),
    )
    with pytest.raises(LearnerError, match="dropout masks cannot be recovered.*masks="):
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


@pytest.mark.parametrize("recipe", ["rand_gt", "binomial"])
def test_masks_replayed_from_other_draws_and_a_fresh_draw_in_backward(recipe):
    m = _load("net_fc_bn_dropout_ok")

    def draw(shape, p):
        if recipe == "binomial":
            return np.random.binomial(1, p, size=shape)
        return np.random.rand(*shape) > 1 - p

    def forward(x, dp):
        if dp["mode"] != "train":
            return x, (dp, None)
        mask = draw(x.shape, dp["p"]) / dp["p"]
        return x * mask, (dp, mask)

    m.dropout_forward = forward
    r = _run(_fc(m))
    assert r.code == "match", r.render()
    m.dropout_backward = lambda dout, cache: dout * draw(dout.shape, cache[0]["p"]) / cache[0]["p"]
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "dropout_mask"), r.render()
    assert "fresh mask" in f.evidence
