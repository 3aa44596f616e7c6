"""Optimizers: the (init, update) contract for every registered variant, and steps computed
by hand from torch 2.13's update equations (CONVENTIONS.md section 4)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from nnparity.scratch import optimizers

# Every registered optimizer with its defaults, plus each option switched on.
OPTIONS = {
    "sgd": [
        {"lr": 0.1, "momentum": 0.9},
        {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1},
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        {"momentum": 0.9, "lr_decay": 0.5},
        {"momentum": 0.9, "lr_gamma": 0.5, "lr_step_size": 2},
    ],
    "adam": [{"amsgrad": True, "weight_decay": 0.1}, {"lr_decay": 0.3}],
    "adamw": [{"amsgrad": True}, {"lr_decay": 0.3}],
    "rmsprop": [
        {"centered": True},
        {"centered": True, "momentum": 0.9, "weight_decay": 0.1},
        {"lr_decay": 0.3},
    ],
    "adagrad": [
        {"lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.1},
        {"lr_decay": 0.1, "lr_gamma": 0.5},
    ],
}
CASES = [(n, {}) for n in optimizers.names()] + [
    (n, kw) for n in optimizers.names() for kw in OPTIONS.get(n, [])
]
IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in CASES]
TORCH_STATE_KEYS = {
    "step", "momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg",
    "grad_avg", "sum",
}  # fmt: skip


def make_params(rng, dtype):
    shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (2,)}
    return {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}


def arrays_of(state):
    return {f: v for f, v in state._asdict().items() if f != "step"}


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contract(name, kw, dtype, rng):
    opt = optimizers[name].build(kw)
    params = make_params(rng, dtype)
    state = opt.init(params)
    assert state._fields[0] == "step" and state.step == 0
    assert set(state._fields) <= TORCH_STATE_KEYS  # named as PyTorch's optimizer.state keys
    layout = {f: set(d) for f, d in arrays_of(state).items()}
    for step in range(1, 4):
        grads = make_params(rng, dtype)
        before = copy.deepcopy((params, grads, state))
        new_params, new_state = opt.update(grads, state, params)
        for old, kept in zip((params, grads, state), before, strict=True):  # nothing mutated
            np.testing.assert_equal(old, kept)
        assert list(new_params) == list(params)
        for k, p in params.items():
            assert new_params[k].shape == p.shape and new_params[k].dtype == dtype
            assert not np.array_equal(new_params[k], p)
        assert type(new_state) is type(state) and new_state.step == step
        assert type(new_state.step) is int
        for field, d in arrays_of(new_state).items():
            assert set(d) == layout[field], field  # structure kept across steps
            for k, v in d.items():
                assert v.shape == params[k].shape and v.dtype == dtype, (field, k)
        params, state = new_params, new_state


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_state_round_trip_continues_bit_identically(name, kw, rng):
    """A state rebuilt from its fields (as when copied from torch) gives the same next step."""
    opt = optimizers[name].build(kw)
    params = make_params(rng, np.float64)
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.update(make_params(rng, np.float64), state, params)
    fields = {f: copy.deepcopy(v) for f, v in state._asdict().items()}
    rebuilt = type(state)(**fields)
    grads = make_params(rng, np.float64)
    np.testing.assert_equal(opt.update(grads, rebuilt, params), opt.update(grads, state, params))


NO_DECAY = [(n, kw) for n, kw in CASES if not kw.get("weight_decay") and n != "adamw"]


@pytest.mark.parametrize(("name", "kw"), NO_DECAY)
def test_zero_gradients_leave_parameters_in_place(name, kw):
    """Without weight decay, zero gradients move nothing (no eps-driven drift)."""
    opt = optimizers[name].build(kw)
    params = {"w": np.array([1.0, -2.0])}
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.update({"w": np.zeros(2)}, state, params)
    np.testing.assert_array_equal(params["w"], [1.0, -2.0])


def run(name, grads, p0=0.0, **kw):
    """Parameter values after each step, for a scalar parameter and a list of gradients."""
    opt = optimizers[name].build(kw)
    params = {"p": np.array([p0])}
    state = opt.init(params)
    out = []
    for g in grads:
        params, state = opt.update({"p": np.array([g])}, state, params)
        out.append(float(params["p"][0]))
    return out


# -- SGD ------------------------------------------------------------------------------------
def test_sgd_plain_and_weight_decay():
    assert run("sgd", [0.5], p0=1.0, lr=0.1) == [0.95]
    assert run("sgd", [0.0], p0=1.0, lr=1.0, weight_decay=0.1) == [0.9]


def test_sgd_lr_decay_is_inverse_time_from_the_second_step():
    got = run("sgd", [1.0, 1.0, 1.0], lr=0.1, lr_decay=0.5)
    assert got == pytest.approx([-0.1, -0.1 - 0.1 / 1.5, -0.1 - 0.1 / 1.5 - 0.1 / 2.0], rel=1e-15)


def test_sgd_lr_gamma_falls_once_every_lr_step_size_steps():
    got = run("sgd", [1.0] * 5, lr=0.1, lr_gamma=0.5, lr_step_size=2)
    lrs = [0.1, 0.1, 0.05, 0.05, 0.025]
    assert got == pytest.approx(np.cumsum([-lr for lr in lrs]).tolist(), rel=1e-15)


def test_sgd_momentum_under_lr_gamma_keeps_the_lr_inside_the_velocity():
    """Keras's form: v <- mu v - lr_t g; p <- p + v, lr_t = lr gamma^((t-1) // step_size)."""
    grads, lr, mu = [1.0, -2.0, 0.5, 3.0, 1.0], 0.1, 0.9
    got = run("sgd", grads, lr=lr, momentum=mu, lr_gamma=0.3, lr_step_size=2)
    p, v, want = 0.0, 0.0, []
    for t, g in enumerate(grads):
        v = mu * v - lr * 0.3 ** (t // 2) * g
        p += v
        want.append(p)
    assert got == pytest.approx(want, rel=1e-14)


def test_sgd_momentum_with_lr_decay_keeps_the_lr_inside_the_velocity():
    """nnfs's and Keras's form: v <- mu v - lr_t g; p <- p + v, lr_t = lr / (1 + k (t-1))."""
    grads, lr, mu, k = [1.0, -2.0, 0.5, 3.0], 0.1, 0.9, 0.5
    got = run("sgd", grads, lr=lr, momentum=mu, lr_decay=k)
    p, v, want = 0.0, 0.0, []
    for t, g in enumerate(grads):
        v = mu * v - lr / (1 + k * t) * g
        p += v
        want.append(p)
    assert got == pytest.approx(want, rel=1e-14)


def test_sgd_momentum_buffer_is_the_gradient_on_the_first_step():
    """Dampening is not applied on the first step: g=1, lr=1, tau=.5 -> -1.0, then -2.4."""
    got = run("sgd", [1, 1, 1], lr=1.0, momentum=0.9, dampening=0.5)
    assert got == pytest.approx([-1.0, -2.4, -2.4 - (0.9 * 1.4 + 0.5)], rel=1e-15)


def test_sgd_nesterov():
    """b1 = 1, step 1 + .9 = 1.9; b2 = .9 + 1 = 1.9, step 1 + .9 * 1.9 = 2.71."""
    assert run("sgd", [1, 1], lr=1.0, momentum=0.9, nesterov=True) == pytest.approx(
        [-1.9, -4.61], rel=1e-15
    )


# -- Adam and AdamW -------------------------------------------------------------------------
@pytest.mark.parametrize(("g", "want"), [(1e-3, -0.0999990), (1e-9, -0.00909), (-5.0, 0.1)])
def test_adam_first_step_is_about_minus_lr_sign_g(g, want):
    (got,) = run("adam", [g], lr=0.1)
    assert got == pytest.approx(-0.1 * g / (abs(g) + 1e-8), rel=1e-14)  # m_hat=g, v_hat=g^2
    assert got == pytest.approx(want, rel=1e-3)


def _adam_by_hand(grads, lr, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False):
    p, m, v, vmax, out = 0.0, 0.0, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        vv = vmax if amsgrad else v
        p -= lr * (m / (1 - b1**t)) / (math.sqrt(vv / (1 - b2**t)) + eps)
        out.append(p)
    return out


def test_adam_three_steps_by_hand():
    grads = [1.0, -2.0, 0.5]
    assert run("adam", grads, lr=0.1) == pytest.approx(_adam_by_hand(grads, 0.1), rel=1e-13)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    grads = [1.0, 0.0, 0.0]  # v shrinks after step 1; amsgrad keeps the step-1 value
    want = _adam_by_hand(grads, 0.1, amsgrad=True)
    assert run("adam", grads, lr=0.1, amsgrad=True) == pytest.approx(want, rel=1e-13)
    assert want != pytest.approx(_adam_by_hand(grads, 0.1), rel=1e-6)


def test_adamw_decays_before_the_update_and_adam_adds_l2():
    assert run("adamw", [0.0], p0=1.0, lr=0.1, weight_decay=0.5) == pytest.approx([0.95], 1e-15)
    (adam,) = run("adam", [0.0], p0=1.0, lr=0.1, weight_decay=0.5)
    assert adam == pytest.approx(1 - 0.1 * 0.5 / (0.5 + 1e-8), rel=1e-15)
    assert adam == pytest.approx(0.900000002, rel=1e-12)


def test_adamw_default_weight_decay_is_1e_2():
    assert optimizers["adamw"].defaults["weight_decay"] == 1e-2
    (got,) = run("adamw", [1.0], p0=1.0, lr=0.1)
    assert got == pytest.approx(1.0 * (1 - 0.1 * 1e-2) - 0.1 / (1 + 1e-8), rel=1e-14)


# -- RMSprop --------------------------------------------------------------------------------
def _rmsprop_by_hand(grads, lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, wd=0.0):
    p, s, gbar, b, out = 1.0, 0.0, 0.0, 0.0, []
    for g in grads:
        g = g + wd * p
        s = alpha * s + (1 - alpha) * g * g
        gbar = gbar + (1 - alpha) * (g - gbar)
        d = math.sqrt(s - gbar * gbar if centered else s) + eps
        b = momentum * b + g / d
        p -= lr * (b if momentum else g / d)
        out.append(p)
    return out


@pytest.mark.parametrize(
    "kw",
    [{}, {"centered": True}, {"momentum": 0.9}, {"centered": True, "momentum": 0.5, "wd": 0.1}],
)
def test_rmsprop_three_steps_by_hand(kw):
    grads = [1.0, -2.0, 0.5]
    scratch_kw = {("weight_decay" if k == "wd" else k): v for k, v in kw.items()}
    got = run("rmsprop", grads, p0=1.0, lr=0.01, **scratch_kw)
    assert got == pytest.approx(_rmsprop_by_hand(grads, 0.01, **kw), rel=1e-14)


def test_rmsprop_first_step_has_no_bias_correction():
    (got,) = run("rmsprop", [1.0], lr=0.01)
    assert got == pytest.approx(-0.01 / (math.sqrt(0.01) + 1e-8), rel=1e-15)  # about -0.1


# -- Adagrad --------------------------------------------------------------------------------
def test_adagrad_by_hand():
    got = run("adagrad", [1.0, 2.0], lr=0.1)
    p1 = -0.1 / (1.0 + 1e-10)
    assert got == pytest.approx([p1, p1 - 0.1 * 2 / (math.sqrt(5.0) + 1e-10)], rel=1e-15)


def test_adagrad_lr_decay_and_initial_accumulator():
    got = run("adagrad", [1.0, 2.0], lr=0.1, lr_decay=0.5, initial_accumulator_value=0.1)
    p1 = -0.1 / (math.sqrt(1.1) + 1e-10)
    p2 = p1 - (0.1 / 1.5) * 2 / (math.sqrt(5.1) + 1e-10)
    assert got == pytest.approx([p1, p2], rel=1e-15)


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_donated_update_gives_the_same_bits_and_leaves_state_and_params_alone(name, kw, dtype):
    rng = np.random.default_rng(3)
    opt = optimizers[name].build(kw)
    params = make_params(rng, dtype)
    state = opt.init(params)
    for _ in range(3):  # past the first step, where SGD's buffer starts as a copy of g
        grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
        kept = copy.deepcopy((params, state))
        expected, expected_state = opt.update(copy.deepcopy(grads), state, params)
        donated = {k: g.copy() for k, g in grads.items()}
        got, got_state = opt.update(donated, state, params, donate=True)
        np.testing.assert_equal((params, state), kept)  # only the gradients may be written
        np.testing.assert_equal((got, got_state), (expected, expected_state))
        for k in got:  # the new state never shares memory with the donated buffers
            assert all(
                not np.shares_memory(buf[k], donated[k])
                for buf in got_state._asdict().values()
                if isinstance(buf, dict) and k in buf
            )
        assert any(got[k] is donated[k] for k in got)  # the buffers were really reused
        params, state = got, got_state
