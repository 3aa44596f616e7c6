"""Layered networks end to end without torch: every parameter's gradient against finite
differences of the whole loss (train mode with the step's dropout masks fixed, and eval mode),
the dense MLP reproduced bit for bit, buffers and masks returned by the step."""

from __future__ import annotations

import numpy as np
import pytest
from scratch_testing import numgrad

from nnparity.scratch import (
    DataError,
    LayeredNetwork,
    NetState,
    Spec,
    build,
    make_data,
    param_names,
)
from nnparity.scratch.stack import build_layered

EXAMPLE = (
    "1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm relu dropout(0.25) "
    "dense(3) loss=cross_entropy opt=adam(lr=0.01) dtype=float32 seed=0"
)
# small networks holding every layer type, sized for finite differences
FD_SPECS = [
    "1x6x5 conv(2,k=3,stride=2,pad=1) tanh maxpool(2,stride=1) flatten dense(5) batchnorm "
    "sigmoid dropout(0.3) dense(3) loss=cross_entropy batch=4",
    "2x5x5 conv(3,k=2) batchnorm elu avgpool(3,stride=1) layernorm flatten dense(2) "
    "loss=mse batch=3",
    "6 dense(5) layernorm tanh dropout(0.5) dense(4) batchnorm dense(1) sigmoid loss=bce batch=2",
]


def test_the_issue_example_runs_end_to_end():
    spec = Spec.parse(EXAMPLE)
    assert spec.layered and Spec.parse(str(spec)) == spec
    net = build(spec)
    assert isinstance(net, LayeredNetwork)
    assert param_names(spec) == ["W1", "b1", "W2", "b2", "gamma3", "beta3", "W5", "b5"]
    params = net.init_params()
    assert params["W1"].shape == (4, 1, 3, 3) and params["W2"].shape == (64, 16)
    assert all(p.dtype == np.float32 for p in params.values())
    X, y = make_data(spec)
    assert X.shape == (8, 1, 8, 8) and y.shape == (8,)
    loss, grads, out = net.loss_and_grads(params, X, y)
    assert out.shape == (8, 3) and out.dtype == np.float32
    assert list(grads) == list(params) and all(g.dtype == np.float32 for g in grads.values())
    state = net.init_state(params)
    assert isinstance(state, NetState) and state.masks == {}
    losses = []
    for _ in range(20):
        params, state, loss = net.train_step(params, state, X, y)
        losses.append(loss)
    assert losses[-1] < losses[0]
    assert set(state.buffers) == {"running_mean3", "running_var3"}
    assert state.buffers["running_var3"].dtype == np.float32
    assert list(state.masks) == ["mask4"] and state.masks["mask4"].shape == (8, 16)
    eval_out, _ = net.forward(params, X, mode="eval", buffers=state.buffers)
    train_out, _ = net.forward(params, X, mode="train", buffers=state.buffers)
    assert eval_out.shape == (8, 3) and not np.allclose(eval_out, train_out)


@pytest.mark.parametrize("text", FD_SPECS)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_every_gradient_matches_finite_differences_of_the_loss(text, mode):
    spec = Spec.parse(text)
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    # a step first, so the running statistics differ from their initial 0 and 1
    state = net.init_state(params)
    _, state, _ = net.train_step(dict(params), state, X, y)
    buffers = state.buffers
    _, trace = net.forward(params, X, mode=mode, buffers=buffers, seed=7)
    kw = {"mode": mode, "buffers": buffers, "masks": trace.masks}
    assert bool(trace.masks) == (mode == "train" and "dropout" in text)
    _, grads, _ = net.loss_and_grads(params, X, y, **kw)
    for name, p in params.items():

        def f(v, name=name):
            return net.loss({**params, name: v}, X, y, **kw)

        fd = numgrad(f, p)
        scale = max(np.abs(fd).max(), 1e-3)
        np.testing.assert_allclose(grads[name], fd, rtol=0, atol=1e-6 * scale, err_msg=name)


def test_a_wrong_backward_fails_the_finite_difference_check():
    """The check above can fail: a batchnorm backward that treats the batch statistics as
    constants (LEARNER_BUGS class 17) is caught."""
    from nnparity.scratch.layers import norm

    spec = Spec.parse(FD_SPECS[2])
    net = build_layered(spec)
    params = net.init_params()
    X, y = make_data(spec)
    right = net.loss_and_grads(params, X, y)[1]
    original = norm._norm_vjp
    try:
        norm._norm_vjp = lambda cache, gamma, dy, axes: dy * gamma * cache.rstd
        wrong = net.loss_and_grads(params, X, y)[1]
    finally:
        norm._norm_vjp = original
    fd = numgrad(lambda v: net.loss({**params, "W1": v}, X, y), params["W1"])
    np.testing.assert_allclose(right["W1"], fd, rtol=0, atol=1e-6 * np.abs(fd).max())
    assert np.abs(wrong["W1"] - fd).max() > 1e-3 * np.abs(fd).max()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "text",
    [
        "3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9)",
        "5-7-7-3 relu,gelu,identity loss=cross_entropy opt=adam bias=false",
    ],
)
def test_the_layer_path_reproduces_the_dense_mlp_bit_for_bit(text, dtype):
    spec = Spec.parse(f"{text} dtype={dtype}")
    dense, layered = build(spec), build_layered(spec)
    params = dense.init_params()
    assert list(layered.init_params()) == list(params)
    for k, v in layered.init_params().items():
        np.testing.assert_array_equal(v, params[k])
    X, y = make_data(spec)
    a, b = dense.loss_and_grads(params, X, y), layered.loss_and_grads(params, X, y)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[2], b[2])
    for k in params:
        np.testing.assert_array_equal(a[1][k], b[1][k])


def test_train_step_draws_fresh_reproducible_masks_and_updates_running_statistics():
    spec = Spec.parse(FD_SPECS[0])
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    s0 = net.init_state(params)
    p1, s1, _ = net.train_step(params, s0, X, y)
    _, s1_again, _ = net.train_step(params, s0, X, y)
    _, s2, _ = net.train_step(p1, s1, X, y)
    np.testing.assert_array_equal(s1.masks["mask4"], s1_again.masks["mask4"])
    assert not np.array_equal(s1.masks["mask4"], s2.masks["mask4"])
    _, s1_other, _ = net.train_step(params, s0, X, y, seed=99)
    assert not np.array_equal(s1.masks["mask4"], s1_other.masks["mask4"])
    # running statistics: (1 - 0.1) old + 0.1 batch, from the initial 0 and 1
    h = net.forward(params, X, masks=s1.masks)[1]
    assert not np.array_equal(s1.buffers["running_var3"], s0.buffers["running_var3"])
    np.testing.assert_array_equal(s1.buffers["running_mean3"], h.buffers["running_mean3"])
    assert s0.buffers["running_var3"].tolist() == [1.0] * 5  # the input state is not modified


def test_batchnorm_refuses_one_value_per_channel_at_run_time():
    spec = Spec.parse("4 dense(3) batchnorm dense(2) batch=2")
    net = build(spec)
    params = net.init_params()
    X = np.ones((1, 4))
    with pytest.raises(DataError, match="use a batch of 2 or more"):
        net.forward(params, X)
    out, _ = net.forward(params, X, mode="eval")  # eval mode uses the running statistics
    assert out.shape == (1, 2)


def test_layered_input_shape_errors_name_the_fix():
    net = build(Spec.parse(EXAMPLE))
    params = net.init_params()
    with pytest.raises(DataError, match=r"takes \(batch, 1, 8, 8\).*X\[None\]"):
        net.forward(params, np.zeros((1, 8, 8)))
    with pytest.raises(Exception, match="mode must be 'train' or 'eval'"):
        net.forward(params, np.zeros((2, 1, 8, 8)), mode="test")
