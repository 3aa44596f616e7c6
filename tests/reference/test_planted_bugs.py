"""The checker checks itself: each bug class planted in a copy of scratch is caught at the
right stage, tensor and step, and finite differences blame scratch (LEARNER_BUGS.md 1-7, 11)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.engine import run_parity
from nnparity.scratch import Activation, Network, Optimizer, Spec, build, make_data
from nnparity.scratch.activations import _sigmoid


def _failing(result, step, stage):
    return {r.tensor for r in result.failures if r.step == step and r.stage == stage}


def _assert_caught(result, stage, tensors, fd_blames_scratch=True):
    assert not result.passed
    first = result.first_failure
    assert (first.step, first.stage) == (1, stage), result.message()
    assert _failing(result, 1, stage) == set(tensors), result.message()
    for earlier in ("forward", "loss", "grad", "update"):
        if earlier == stage:
            break
        assert not _failing(result, 1, earlier), f"{earlier} should still agree"
    if fd_blames_scratch and stage == "grad":
        assert result.opinions and all(o.verdict == "scratch is wrong" for o in result.opinions)
    assert "Mismatched elements" in result.message()


SPEC64 = Spec.parse("4-5-5-3 tanh,sigmoid,identity loss=mse opt=sgd(lr=0.1) seed=1")
CASES = [(d, m) for d in ("float32", "float64") for m in ("free", "resync")]


@pytest.fixture(params=CASES, ids=[f"{d}-{m}" for d, m in CASES])
def case(request):
    """(spec at this dtype, mode): every planted bug is caught at both dtypes, in both modes."""
    dtype, mode = request.param
    return SPEC64.replace(dtype=dtype), mode


def test_correct_scratch_passes(case):
    spec, mode = case
    assert run_parity(spec, 5, mode).passed


def test_sign_flip_is_caught_in_the_update(case):
    spec, mode = case
    net = build(spec)
    ascent = Optimizer(
        net.opt.init, lambda g, s, p: net.opt.update({k: -v for k, v in g.items()}, s, p)
    )
    result = run_parity(spec, 3, mode, net=net._replace(opt=ascent))
    _assert_caught(result, "update", ["W1", "b1", "W2", "b2", "W3", "b3"])


def test_scale_factor_is_caught_in_every_gradient(case):
    spec, mode = case
    net = build(spec)
    summed = net.loss_fn._replace(grad=lambda a, y: net.loss_fn.grad(a, y) * a.shape[0])
    result = run_parity(spec, 3, mode, net=net._replace(loss_fn=summed))
    _assert_caught(result, "grad", ["W1", "b1", "W2", "b2", "W3", "b3"])


class Transposed(Network):
    def backward(self, params, cache, dout):
        grads = super().backward(params, cache, dout)
        return {**grads, "W2": grads["W2"].T}


def test_transposed_square_gradient_is_caught(case):
    spec, mode = case
    result = run_parity(spec, 3, mode, net=Transposed(*build(spec)))
    _assert_caught(result, "grad", ["W2"])


class UpdatedWeightsUsed(Network):
    """Backpropagates through each layer's already-updated weights (lr 0.1, plain SGD)."""

    def backward(self, params, cache, dout):
        grads, da = {}, dout
        for l in range(len(cache), 0, -1):
            a_prev, z, a = cache[l - 1]
            dz = self.acts[l - 1].vjp(z, a, da)
            grads[f"W{l}"], grads[f"b{l}"] = a_prev.T @ dz, dz.sum(0)
            da = dz @ (params[f"W{l}"] - 0.1 * grads[f"W{l}"]).T
        return grads


def test_updated_weights_used_is_caught_below_the_last_layer(case):
    spec, mode = case
    result = run_parity(spec, 3, mode, net=UpdatedWeightsUsed(*build(spec)))
    _assert_caught(result, "grad", ["W1", "b1", "W2", "b2"])


def test_wrong_activation_derivative_is_caught_in_that_layer(case):
    spec, mode = case
    spec = Spec.parse(f"4-5-3 relu,identity loss=mse opt=sgd(lr=0.1) seed=2 dtype={spec.dtype}")
    net = build(spec)
    relu = net.acts[0]
    wrong = Activation(relu.f, lambda z, a, g: g * _sigmoid(z) * (1 - _sigmoid(z)))
    result = run_parity(spec, 3, mode, net=net._replace(acts=(wrong, net.acts[1])))
    _assert_caught(result, "grad", ["W1", "b1"])


def test_derivative_of_output_is_caught(case):
    spec, mode = case
    net = build(spec)
    sig = net.acts[1]
    twice = Activation(sig.f, lambda z, a, g: g * _sigmoid(a) * (1 - _sigmoid(a)))
    result = run_parity(spec, 3, mode, net=net._replace(acts=(net.acts[0], twice, net.acts[2])))
    _assert_caught(result, "grad", ["W1", "b1", "W2", "b2"])


class MeanBias(Network):
    def backward(self, params, cache, dout):
        grads = super().backward(params, cache, dout)
        for l in range(1, len(cache) + 1):
            a_prev, z, a = cache[l - 1]
            grads[f"b{l}"] = grads[f"b{l}"] / z.shape[0]
        return grads


def test_bias_reduction_is_caught_in_the_biases_only(case):
    spec, mode = case
    result = run_parity(spec, 3, mode, net=MeanBias(*build(spec)))
    _assert_caught(result, "grad", ["b1", "b2", "b3"])


def test_adam_eps_inside_the_root_is_caught_in_the_update(case):
    spec, mode = case
    spec = spec.replace(opt="adam(lr=0.01,eps=1e-3)")
    net = build(spec)

    def update(grads, state, params):
        t = state.step + 1
        m = {k: 0.9 * state.exp_avg[k] + 0.1 * g for k, g in grads.items()}
        v = {k: 0.999 * state.exp_avg_sq[k] + 0.001 * g * g for k, g in grads.items()}
        new = {
            k: p - 0.01 * (m[k] / (1 - 0.9**t)) / np.sqrt(v[k] / (1 - 0.999**t) + 1e-3)
            for k, p in params.items()
        }
        return new, state._replace(step=t, exp_avg=m, exp_avg_sq=v)

    result = run_parity(spec, 3, mode, net=net._replace(opt=Optimizer(net.opt.init, update)))
    _assert_caught(result, "update", ["W1", "b1", "W2", "b2", "W3", "b3"])


def test_bug_from_step_three_is_localised_to_step_three(case):
    spec, mode = case
    net = build(spec)

    def update(grads, state, params):
        new, st = net.opt.update(grads, state, params)
        if st.step == 3:
            new = {**new, "b2": new["b2"] + 1e-3}
        return new, st

    result = run_parity(spec, 5, mode, net=net._replace(opt=Optimizer(net.opt.init, update)))
    first = result.first_failure
    assert (first.step, first.stage, first.tensor) == (3, "update", "b2")


def test_free_mode_does_not_blame_gradients_for_the_drift_of_a_wrong_update():
    """After a wrong update the trajectories part; from then on the gradients differ because
    the weights do. The drift enters the gradients' round-off envelope as an input error, so
    only the update is blamed, and finite differences (each side at its own weights) agree."""
    net = build(SPEC64)
    ascent = Optimizer(
        net.opt.init, lambda g, s, p: net.opt.update({k: -v for k, v in g.items()}, s, p)
    )
    result = run_parity(SPEC64, 3, "free", net=net._replace(opt=ascent))
    assert (result.first_failure.step, result.first_failure.stage) == (1, "update")
    assert not [r for r in result.failures if r.stage == "grad"], result.message()
    grads2 = [r for r in result.records if r.step == 2 and r.stage == "grad"]
    assert max(r.max_rel for r in grads2) > 1e-3  # they do differ, by the drift


def test_finite_differences_judge_each_side_at_its_own_weights():
    from nnparity.reference.finite_diff import fd_grads, opinion

    p = build(SPEC64).init_params()
    moved = {k: v + 0.05 for k, v in p.items()}
    X, y = make_data(SPEC64)
    net = build(SPEC64)
    g, g_moved = net.loss_and_grads(p, X, y)[1], net.loss_and_grads(moved, X, y)[1]
    fd, fd_moved = fd_grads(SPEC64, p, X, y, ["W1"]), fd_grads(SPEC64, moved, X, y, ["W1"])
    assert opinion(2, "W1", g["W1"], g_moved["W1"], fd["W1"], fd_moved["W1"]).verdict == (
        "both agree with fd"
    )
    assert opinion(2, "W1", g["W1"], g_moved["W1"], fd["W1"]).verdict == "torch is wrong"


def test_a_network_without_a_spec_attribute_gets_the_parity_message():
    """The plugin takes any object with Network's methods; finite differences need no .spec."""
    inner = build(SPEC64)

    class Mine:
        opt = inner.opt

        def init_params(self):
            return inner.init_params()

        def init_state(self, params):
            return inner.init_state(params)

        def loss_and_grads(self, params, X, y):
            loss, grads, out = inner.loss_and_grads(params, X, y)
            return loss, {**grads, "W1": 2 * grads["W1"]}, out

    result = run_parity(SPEC64, 2, net=Mine())
    _assert_caught(result, "grad", ["W1"])


def test_a_float32_network_that_upcasts_to_float64_fails():
    """NEP 50: an np.float64 learning rate times a float32 array is float64 (CONVENTIONS §5)."""
    spec = SPEC64.replace(dtype="float32")
    net = build(spec)
    lr = np.float64(0.1)
    upcast = Optimizer(net.opt.init, lambda g, s, p: ({k: p[k] - lr * g[k] for k in p}, s))
    result = run_parity(spec, 2, net=net._replace(opt=upcast))
    first = result.first_failure
    assert (first.step, first.stage, first.expected_dtype) == (1, "update", "float32")
    assert "dtype mismatch: your network float64, torch float32" in result.message()
