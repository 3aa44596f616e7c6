"""Every layer held to PyTorch autograd through the twin: scratch's parameters copied in, one
training step on each side (scratch's dropout masks applied by the twin), then the output, the
loss, every parameter gradient, dL/dX, the updated parameters, the running statistics and an
eval-mode forward compared at the dtype's assert_close tolerances (both dtypes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnparity.reference.twin import Twin, layout
from nnparity.reference.variants import torch_layers
from nnparity.scratch import Spec, build, layers, make_data

CASES = {
    "conv-s2-pad": "2x7x6 conv(3,k=3,stride=2,pad=1) tanh flatten dense(4) loss=mse batch=3",
    "conv-maxpool-overlap": "1x8x8 conv(2,k=3) relu maxpool(3,stride=2) flatten dense(3) "
    "loss=cross_entropy",
    "avgpool-overlap": "2x6x6 conv(2,k=1) avgpool(3,stride=1) flatten dense(3) loss=mse",
    "batchnorm1d-batch2": "5 dense(4) batchnorm relu dense(2) loss=mse batch=2",
    "batchnorm2d": "2x5x5 conv(3,k=3) batchnorm(momentum=0.3) relu flatten dense(2) batch=4",
    "layernorm1d": "6 dense(5) layernorm tanh dense(2) loss=mse",
    "layernorm2d": "2x4x4 conv(2,k=3) layernorm(eps=0.001) flatten dense(3) loss=mse",
    "dropout": "6 dense(8) relu dropout(0.4) dense(3) loss=cross_entropy",
    "issue-example": "1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm relu "
    "dropout(0.25) dense(3) loss=cross_entropy",
}
TOL = {"float32": {"rtol": 1.3e-6, "atol": 1e-5}, "float64": {"rtol": 1e-7, "atol": 1e-7}}


def _close(actual, expected, dtype, what):
    torch.testing.assert_close(
        torch.from_numpy(np.asarray(actual)),
        torch.from_numpy(np.asarray(expected)),
        msg=lambda m: f"{what}: {m}",
        **TOL[dtype],
    )


def one_step(spec: Spec):
    """(scratch's results, the twin's results) after one training step from the same start."""
    net = build(spec)
    params = net.init_params()
    state = net.init_state(params)
    X, y = make_data(spec)
    # a first step on scratch alone, so the running statistics are not their initial 0 and 1
    params, state, _ = net.train_step(params, state, X, y)
    twin = Twin(spec)
    twin.set_params(params)
    twin.set_state(state)
    out, trace = net.forward(params, X, buffers=state.buffers, seed=[spec.seed, 2, 1])
    dx, grads = net.vjp(params, trace, net.loss_fn.grad(out, y))
    new_params, new_state, loss = net.train_step(params, state, X, y)
    assert all(np.array_equal(trace.masks[k], new_state.masks[k]) for k in trace.masks)
    theirs = twin.step(*twin.tensors(X, y), masks=new_state.masks, input_grad=True)
    eval_out = net.forward(new_params, X, mode="eval", buffers=new_state.buffers)[0]
    ours = dict(
        out=out,
        loss=loss,
        grads=grads,
        dx=dx,
        params=new_params,
        buffers=new_state.buffers,
        eval_out=eval_out,
    )
    theirs_eval = twin.forward(torch.from_numpy(X), mode="eval")
    return ours, theirs, theirs_eval


def assert_twin_agrees(spec: Spec) -> None:
    ours, theirs, theirs_eval = one_step(spec)
    d = spec.dtype
    _close(ours["out"], theirs.out, d, "forward output")
    _close(np.array(ours["loss"]), np.array(theirs.loss), d, "loss")
    assert list(ours["grads"]) == list(theirs.grads)
    for name in ours["grads"]:
        _close(ours["grads"][name], theirs.grads[name], d, f"grad {name}")
    _close(ours["dx"], theirs.dx, d, "dL/dX")
    for name in ours["params"]:
        _close(ours["params"][name], theirs.params[name], d, f"updated {name}")
    assert set(ours["buffers"]) == set(theirs.buffers)
    for name in ours["buffers"]:
        _close(ours["buffers"][name], theirs.buffers[name], d, f"buffer {name}")
    _close(ours["eval_out"], theirs_eval, d, "eval-mode output")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_one_step_matches_pytorch_autograd(case, dtype):
    """SGD with momentum: Adam would turn the round-off-sized gradient of a bias feeding a
    batchnorm (its true gradient is 0) into a step of about lr in float32, on both sides
    differently; that is the update stage's tolerance question, not a layer's."""
    spec = Spec.parse(f"{CASES[case]} dtype={dtype} seed=3 opt=sgd(lr=0.1,momentum=0.9)")
    assert_twin_agrees(spec)


def test_every_layer_type_is_in_a_case():
    used = {c.name for text in CASES.values() for c in Spec.parse(text).stack}
    assert set(layers.names()) <= used


def test_same_layers_and_defaults_on_both_sides():
    assert list(layers) == list(torch_layers)
    for name in layers:
        assert layers[name].defaults == torch_layers[name].defaults, name


def test_parameters_and_buffers_cross_bit_exactly():
    spec = Spec.parse(CASES["issue-example"] + " dtype=float32")
    net = build(spec)
    params = net.init_params()
    state = net.init_state(params)
    X, y = make_data(spec)
    _, state, _ = net.train_step(params, state, X, y)
    twin = Twin(spec)
    twin.set_params(params)
    twin.set_buffers(state.buffers)
    assert twin.names_map["W1"] == "0.weight" and twin.names_map["gamma3"] == "5.weight"
    assert twin.names_map["running_var3"] == "5.running_var" and twin.names_map["W5"] == "8.weight"
    for name, p in twin.get_params().items():
        assert np.array_equal(p, params[name]) and p.dtype == params[name].dtype, name
    for name, b in twin.get_buffers().items():
        assert np.array_equal(b, state.buffers[name]), name
    assert twin.params["W1"].shape == layout("W1", params["W1"]).shape == (4, 1, 3, 3)


def test_the_twins_defaults_are_pytorchs_own():
    import inspect

    own = {"inverted": True}  # dropout's paper form, which torch has no module for: off
    for name, cls, renamed in [
        ("batchnorm", torch.nn.BatchNorm1d, {}),
        ("layernorm", torch.nn.LayerNorm, {}),
        ("dropout", torch.nn.Dropout, {}),
    ]:
        params = inspect.signature(cls).parameters
        for key, default in layers[name].defaults.items():
            if key in own and key not in params:
                assert default == own[key], (name, key)
                continue
            assert params[renamed.get(key, key)].default == default, (name, key)


@pytest.mark.parametrize(
    ("case", "plant", "what"),
    [
        ("batchnorm1d-batch2", "batchnorm_backward", "grad W1"),
        ("batchnorm2d", "batchnorm_running", "buffer running_var"),
        ("conv-s2-pad", "conv_flip", "forward output"),
        ("dropout", "dropout_mask_in_backward", "grad W1"),
    ],
)
def test_planted_scratch_bugs_are_caught(monkeypatch, case, plant, what):
    """The comparison can fail: bugs of LEARNER_BUGS classes 17-19 planted in scratch."""
    from nnparity.scratch.layers import conv, norm

    if plant == "batchnorm_backward":
        monkeypatch.setattr(norm, "_norm_vjp", lambda c, gamma, dy, axes: dy * gamma * c.rstd)
    elif plant == "batchnorm_running":
        real = norm.batchnorm_forward

        def biased(*a, **k):
            y, cache, stats = real(*a, **k)
            if stats:
                stats["running_var"] = stats["running_var"] * 0.999
            return y, cache, stats

        monkeypatch.setattr(norm, "batchnorm_forward", biased)
    elif plant == "conv_flip":
        real_conv = conv.conv2d
        monkeypatch.setattr(
            conv, "conv2d", lambda x, W, *a: real_conv(x, W[:, :, ::-1, ::-1].copy(), *a)
        )
    else:  # the mask not applied to the gradient in backward (class 18)
        import dataclasses

        variant = layers["dropout"]

        def make(p=0.5, inverted=True):
            right = variant.make(p, inverted)
            return right._replace(backward=lambda params, scaled, dy, need_dx: (dy, {}))

        monkeypatch.setitem(layers._variants, "dropout", dataclasses.replace(variant, make=make))
    from nnparity.scratch.stack import build_layered

    build_layered.cache_clear()  # built networks hold the layers they were built with
    spec = Spec.parse(f"{CASES[case]} dtype=float64 seed=3")
    with pytest.raises(AssertionError, match=what):
        assert_twin_agrees(spec)
    build_layered.cache_clear()


def test_nnparity_list_shows_every_layer_with_its_hyperparameters_and_formula(capsys):
    from nnparity.reports.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "layers (8):" in out and "  conv(out=0, k=0, stride=1, pad=0)" in out
    for name in layers:
        assert f"  {name}" in out, name
        for line in layers[name].doc.splitlines():
            assert line in out, (name, line)
