"""The model: whole-network gradients against finite differences of the loss, float32 end to
end, training lowers the loss, seeded data and parameter names."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scratch_testing import numgrad

from nnparity.scratch import (
    Spec,
    activations,
    build,
    make_data,
    optimizers,
    param_names,
    target_kind,
)

GRAD_SPECS = [
    "3-4-2 tanh,identity loss=mse",
    "3-4-2 tanh,identity loss=mse bias=false",
    "3-5-4-3 sigmoid,gelu,identity loss=cross_entropy",
    "3-5-4-3 relu,selu,identity loss=cross_entropy(label_smoothing=0.1) bias=false",
    "4-6-3 elu(alpha=0.5),log_softmax loss=nll",
    "4-6-5-3 silu,mish,log_softmax loss=nll(reduction=sum) bias=false",
    "2-6-1 softplus,sigmoid loss=bce",
    "2-6-4-1 gelu(approximate=tanh),leaky_relu(slope=0.1),sigmoid loss=bce bias=false",
    "4-5-1 tanh,identity loss=bce_with_logits",
    "3-4-2 softplus(beta=2),softmax loss=half_sse",
    "3-6-2 leaky_relu(slope=0.2),identity loss=huber(delta=0.5)",
    "3-5-5-5-2 tanh,hardtanh(min_val=-2,max_val=2),sigmoid,identity loss=mse(reduction=sum)",
]


@pytest.mark.parametrize("text", GRAD_SPECS)
def test_gradients_match_finite_differences_of_the_loss(text):
    spec = Spec.parse(text + " init=xavier_normal bias_init=normal(std=0.5) batch=6 seed=3")
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    loss, grads, out = net.loss_and_grads(params, X, y)
    assert loss == net.loss(params, X, y)
    np.testing.assert_array_equal(out, net.forward(params, X)[0])
    assert list(grads) == param_names(spec)
    for name, p in params.items():

        def loss_at(value, name=name):
            return net.loss({**params, name: value}, X, y)

        num = numgrad(loss_at, p)
        assert grads[name].shape == p.shape
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-9, err_msg=name)


def test_a_dead_relu_layer_has_zero_gradients_and_finite_differences_agree():
    spec = Spec.parse("3-4-2 relu,identity bias_init=constant(value=-100) batch=5")
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    _, grads, _ = net.loss_and_grads(params, X, y)
    assert not grads["W1"].any() and not grads["b1"].any() and not grads["W2"].any()
    np.testing.assert_array_equal(
        numgrad(lambda w: net.loss({**params, "W1": w}, X, y), params["W1"]), 0
    )


# -- float32 end to end --------------------------------------------------------------------
OPT_CASES = ["sgd", "sgd(lr=0.1,momentum=0.9,dampening=0.1,weight_decay=0.01)"]
OPT_CASES += ["sgd(momentum=0.9,nesterov=true)", "adam(amsgrad=true,weight_decay=0.1)"]
OPT_CASES += ["rmsprop(centered=true,momentum=0.5,weight_decay=0.1)", "adagrad(lr_decay=0.1)"]
OPT_CASES += [n for n in optimizers.names() if n not in {o.split("(")[0] for o in OPT_CASES}]
F32_NETS = [
    "3-5-2 tanh,identity loss=mse",
    "3-5-4 gelu,identity loss=cross_entropy(label_smoothing=0.1)",
    "3-5-4 elu,log_softmax loss=nll",
    "3-5-1 silu,sigmoid loss=bce",
    "3-5-1 softplus,identity loss=bce_with_logits bias=false",
    "3-5-2 mish,softmax loss=huber",
]


@pytest.mark.parametrize("opt", OPT_CASES)
@pytest.mark.parametrize("net_text", F32_NETS)
def test_float32_stays_float32(net_text, opt):
    spec = Spec.parse(f"{net_text} opt={opt} dtype=float32")
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    assert X.dtype == np.float32
    state = net.init_state(params)
    for _ in range(3):
        loss, grads, out = net.loss_and_grads(params, X, y)
        assert out.dtype == np.float32 and np.isfinite(loss)
        assert all(p.dtype == np.float32 for p in params.values())
        assert all(g.dtype == np.float32 for g in grads.values())
        params, state, _ = net.train_step(params, state, X, y)
        for field, value in state._asdict().items():
            if field != "step":
                assert all(v.dtype == np.float32 for v in value.values()), field
    assert all(p.dtype == np.float32 for p in params.values())


def test_float32_and_float64_start_from_the_same_draws():
    s64 = Spec.parse("3-5-2 tanh,identity")
    p32 = build(s64.replace(dtype="float32")).init_params()
    for k, v in build(s64).init_params().items():
        np.testing.assert_array_equal(p32[k], v.astype(np.float32))


# -- training ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "opt",
    ["sgd(lr=0.1)", "sgd(lr=0.05,momentum=0.9,nesterov=true)", "adam(lr=0.01)", "adamw(lr=0.01)"]
    + ["rmsprop(lr=0.01)", "rmsprop(lr=0.005,centered=true,momentum=0.5)", "adagrad(lr=0.1)"],
)
@pytest.mark.parametrize(
    "net_text",
    ["2-8-1 tanh,identity loss=mse", "4-8-3 relu,identity loss=cross_entropy"],
)
def test_train_step_lowers_the_loss(net_text, opt):
    spec = Spec.parse(f"{net_text} opt={opt} seed=1 batch=32")
    net = build(spec)
    params = net.init_params()
    state = net.init_state(params)
    X, y = make_data(spec)
    first = net.loss(params, X, y)
    losses = []
    for _ in range(150):
        params, state, loss = net.train_step(params, state, X, y)
        losses.append(loss)
    assert losses[0] == first and net.loss(params, X, y) < 0.8 * first
    assert losses[-1] < losses[75] < losses[0]
    assert state.step == 150


def test_train_step_is_pure_and_returns_the_loss_before_the_update():
    spec = Spec.parse("3-4-2 tanh,identity opt=adam(lr=0.1)")
    net = build(spec)
    params = net.init_params()
    state = net.init_state(params)
    X, y = make_data(spec)
    kept = copy.deepcopy((params, state, X, y))
    new_params, new_state, loss = net.train_step(params, state, X, y)
    np.testing.assert_equal((params, state, X, y), kept)
    assert loss == net.loss(params, X, y)
    assert new_state.step == 1 and not np.array_equal(new_params["W1"], params["W1"])


@pytest.mark.parametrize("opt", OPT_CASES)
@pytest.mark.parametrize("net_text", [*F32_NETS, *(f"3-5-2 {a},identity" for a in
                                                  activations.names())])  # fmt: skip
def test_loss_and_grads_and_the_update_leave_their_arguments_alone(net_text, opt):
    """The parity engine hands scratch's own network its weights and data without copies
    (a network of your own gets copies): every activation, loss and optimizer must write into
    none of them, nor into the gradients the update is given (donate=False)."""
    spec = Spec.parse(f"{net_text} opt={opt}")
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    state = net.init_state(params)
    kept = copy.deepcopy((params, state, X, y))
    _, grads, _ = net.loss_and_grads(params, X, y)
    g_kept = copy.deepcopy(grads)
    for _ in range(2):  # a second step: the state's buffers exist
        new_params, state2 = net.opt.update(grads, state, params)
        np.testing.assert_equal((params, state, X, y), kept)
        np.testing.assert_equal(grads, g_kept)
        state = state2
        kept = (kept[0], copy.deepcopy(state), X, y)


# -- parameters and data -------------------------------------------------------------------
def test_param_names_shapes_and_order():
    spec = Spec.parse("3-4-5-2 tanh,tanh,identity")
    assert param_names(spec) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert param_names(spec.replace(bias=False)) == ["W1", "W2", "W3"]
    params = build(spec).init_params()
    assert list(params) == param_names(spec)
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"W1": (3, 4), "b1": (4,), "W2": (4, 5), "b2": (5,), "W3": (5, 2), "b3": (2,)}
    assert list(build(spec.replace(bias=False)).init_params()) == ["W1", "W2", "W3"]


def test_init_params_is_seeded():
    net = build(Spec.parse("3-4-2 tanh,identity seed=5"))
    np.testing.assert_equal(net.init_params(), net.init_params())
    np.testing.assert_equal(net.init_params(), net.init_params(seed=5))
    assert not np.array_equal(net.init_params()["W1"], net.init_params(seed=6)["W1"])


@pytest.mark.parametrize(
    ("text", "y_shape", "y_dtype"),
    [
        ("3-4-2 tanh,identity", (8, 2), np.float64),
        ("3-4-2 tanh,identity dtype=float32", (8, 2), np.float32),
        ("3-4-1 tanh,sigmoid loss=bce", (8, 1), np.float64),
        ("3-4-5 tanh,identity loss=cross_entropy", (8,), np.int64),
        ("3-4-5 tanh,log_softmax loss=nll", (8,), np.int64),
    ],
)
def test_make_data_is_seeded_and_fits_the_loss(text, y_shape, y_dtype):
    spec = Spec.parse(text)
    X, y = make_data(spec)
    assert X.shape == (8, 3) and X.dtype == np.dtype(spec.dtype)
    assert y.shape == y_shape and y.dtype == y_dtype
    np.testing.assert_array_equal(X, make_data(spec)[0])
    np.testing.assert_array_equal(y, make_data(spec)[1])
    np.testing.assert_array_equal(X, make_data(spec.replace(seed=1), seed=0)[0])
    assert not np.array_equal(X, make_data(spec, seed=1)[0])
    assert make_data(spec, batch=3)[0].shape == (3, 3)
    if target_kind(spec) == "class":
        assert set(np.unique(make_data(spec, batch=200)[1])) == set(range(spec.sizes[-1]))
    if target_kind(spec) == "probability":
        assert set(np.unique(y)) <= {0.0, 1.0}
