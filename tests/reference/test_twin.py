"""Parameters and optimizer state cross between scratch and the twin exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnparity.reference.twin import Twin, layout, torch_name
from nnparity.reference.variants import torch_initializers
from nnparity.scratch import Spec, build, initializers, make_data


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("init", initializers.names())
def test_round_trip_is_bit_exact(init, dtype):
    spec = Spec((5, 7, 7, 3), ("tanh", "relu", "identity"), init=init, dtype=dtype, seed=3)
    params = build(spec).init_params()
    twin = Twin(spec)
    twin.set_params(params)
    back = twin.get_params()
    assert list(back) == list(params)
    for name, p in params.items():
        assert back[name].dtype == p.dtype
        assert back[name].shape == p.shape
        assert np.array_equal(back[name], p), name
        torch_p = dict(twin.module.named_parameters())[torch_name(name)]
        assert torch_p.shape == layout(name, p).shape


def test_layout_is_its_own_inverse_and_only_transposes_weights():
    w = np.arange(6.0).reshape(2, 3)
    assert layout("W1", w).shape == (3, 2)
    assert np.array_equal(layout("W1", layout("W1", w)), w)
    assert layout("b1", np.arange(3.0)).shape == (3,)
    assert torch_name("W1") == "0.weight" and torch_name("b3") == "4.bias"


@pytest.mark.parametrize(
    "opt",
    [
        "sgd(lr=0.1,momentum=0.9)",
        "adam(amsgrad=true)",
        "adamw",
        "rmsprop(momentum=0.5,centered=true)",
        "adagrad(lr_decay=0.1)",
    ],
)
def test_optimizer_state_round_trip(opt):
    spec = Spec((3, 4, 2), ("tanh", "identity"), opt=opt, seed=1)
    net = build(spec)
    params = net.init_params()
    state = net.init_state(params)
    X, y = make_data(spec)
    for _ in range(2):
        params, state, _ = net.train_step(params, state, X, y)
    twin = Twin(spec)
    twin.set_params(params)
    twin.set_state(state)
    got = twin.get_state()
    assert got.get("step", state.step) == state.step  # torch's SGD keeps no step
    for key, bufs in state._asdict().items():
        if key != "step":
            for name, v in bufs.items():
                assert np.array_equal(got[key][name], v), (key, name)


def _torch_draw(init: str, out_f: int, in_f: int) -> np.ndarray:
    w = torch.empty(out_f, in_f, dtype=torch.float64)
    torch.manual_seed(0)
    torch_initializers[init].build()(w)
    return w.numpy().T  # (in, out), scratch's layout


@pytest.mark.parametrize("init", initializers.names())
def test_initializers_draw_what_torch_draws(init):
    """Same distribution (mean, std, range) as torch.nn.init on the same layer: fans agree."""
    n_in, n_out = 400, 100
    ours = initializers[init].build()(np.random.default_rng(0), (n_in, n_out), n_in, n_out)
    theirs = _torch_draw(init, n_out, n_in)
    n = ours.size
    std = theirs.std()
    assert abs(ours.mean() - theirs.mean()) <= 6 * max(std, 1e-12) / math.sqrt(n) + 1e-12
    assert ours.std() == pytest.approx(std, rel=0.05, abs=1e-12)
    assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.15, abs=1e-12)
