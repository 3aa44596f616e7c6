"""The training step's in-place work (``activations.in_place``, ``Loss.value_and_grad``)
changes no bit of the loss, gradients or new weights, touches no array of the caller's, and
steps aside for an activation whose f or vjp was replaced."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from nnparity.scratch import Spec, activations, build, make_data
from nnparity.scratch.activations import into
from nnparity.scratch.blocks import MIN_SIZE
from nnparity.scratch.model import Network

IN_PLACE = [n for n in activations.names() if all(into(activations[n].build()))]


def test_tanh_has_in_place_forms():
    assert "tanh" in IN_PLACE  # else the tests below compare the plain path with itself


def _plain(net, params, X, y):
    """loss, gradients, output by the public, never-in-place path."""
    out, cache = net.forward(params, X)
    grads = net.backward(params, cache, net.loss_fn.grad(out, y))
    return net.loss_fn.value(out, y), grads, out


@pytest.mark.parametrize("act", IN_PLACE)
@pytest.mark.parametrize("out_act", ["tanh", "identity"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("width", [7, MIN_SIZE // 512 + 5])  # in cache, and run in blocks
def test_in_place_step_is_the_plain_step_to_the_bit(act, out_act, dtype, width):
    spec = Spec.parse(f"5-{width}-{width}-3 {act},{act},{out_act} loss=mse dtype={dtype} batch=512")
    net = build(spec)
    params = net.init_params()
    X, y = make_data(spec)
    kept = {k: v.copy() for k, v in params.items()}, X.copy(), y.copy()
    loss, grads, out = net.loss_and_grads(params, X, y)
    want_loss, want_grads, want_out = _plain(net, params, X, y)
    assert loss == want_loss
    np.testing.assert_array_equal(out, want_out, strict=True)
    for k in params:
        np.testing.assert_array_equal(grads[k], want_grads[k], strict=True)
    new, _, step_loss = net.train_step(params, net.init_state(params), X, y)
    assert step_loss == want_loss
    lr = 1e-3  # sgd's default
    for k in params:
        np.testing.assert_array_equal(new[k], np.multiply(want_grads[k], -lr) + params[k])
    for k in params:  # the caller's arrays are untouched
        np.testing.assert_array_equal(params[k], kept[0][k])
    np.testing.assert_array_equal(X, kept[1])
    np.testing.assert_array_equal(y, kept[2])


def test_public_backward_leaves_dout_and_the_cache_alone():
    net = build(Spec.parse("4-6-3 tanh,tanh loss=mse"))
    params = net.init_params()
    X, y = make_data(net.spec)
    out, cache = net.forward(params, X)
    dout = net.loss_fn.grad(out, y)
    kept = dout.copy(), [tuple(x.copy() for x in layer) for layer in cache]
    net.backward(params, cache, dout)
    np.testing.assert_array_equal(dout, kept[0])
    for layer, old in zip(cache, kept[1], strict=True):
        for x, x0 in zip(layer, old, strict=True):
            np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("wrapped", [False, True])
@pytest.mark.parametrize("field", ["f", "vjp"])
def test_a_replaced_f_or_vjp_is_run_not_bypassed(field, wrapped):
    """A planted bug (``act._replace(vjp=...)``, as the soundness tests plant them) must reach
    the gradients: the in-place forms made with the original pair are not used."""
    net = build(Spec.parse("4-6-6-3 tanh,tanh,identity loss=mse"))
    params = net.init_params()
    X, y = make_data(net.spec)
    tanh = net.acts[0]
    original = getattr(tanh, field)
    if field == "f":
        wrong = tanh._replace(f=lambda z: 1.5 * original(z))
    else:
        wrong = tanh._replace(vjp=lambda z, a, g: 2.0 * g * (1 - np.tanh(z) ** 2))  # reads z
    if wrapped:  # functools.wraps copies the original's attributes, its in-place tag too
        plant = getattr(wrong, field)
        wrong = wrong._replace(**{field: functools.wraps(original)(lambda *a: plant(*a))})
        assert getattr(getattr(wrong, field), "into", None) is not None
    planted = net._replace(acts=(wrong, wrong, net.acts[2]))
    _, grads, _ = planted.loss_and_grads(params, X, y)
    _, want, _ = _plain(planted, params, X, y)
    _, right, _ = net.loss_and_grads(params, X, y)
    np.testing.assert_array_equal(grads["W1"], want["W1"])
    assert not np.allclose(grads["W1"], right["W1"])
    hidden = planted.backward(params, *reversed(_dout_and_cache(planted, params, X, y)))
    np.testing.assert_array_equal(hidden["W1"], want["W1"])  # the public backward too


def _dout_and_cache(net, params, X, y):
    out, cache = net.forward(params, X)
    return net.loss_fn.grad(out, y), cache


class _OldBackward(Network):
    """A subclass written before ``own`` existed, reading z from the cache."""

    def backward(self, params, cache, dout):
        assert all(z is not None for _, z, _ in cache)
        return super().backward(params, cache, dout)


def test_a_subclass_overriding_backward_gets_the_plain_cache():
    net = build(Spec.parse("4-6-3 tanh,tanh loss=mse"))
    params = net.init_params()
    X, y = make_data(net.spec)
    sub = _OldBackward(*net)
    loss, grads, _ = sub.loss_and_grads(params, X, y)
    want_loss, want, _ = _plain(net, params, X, y)
    assert loss == want_loss
    for k in want:
        np.testing.assert_array_equal(grads[k], want[k])
    sub.train_step(params, sub.init_state(params), X, y)


def test_checked_loss_and_grads_is_loss_and_grads_of_checked_data():
    """The engine's entry (data checked once per run) gives loss_and_grads' very numbers."""
    net = build(Spec.parse("4-6-3 tanh,identity loss=cross_entropy"))
    params = net.init_params()
    X, y = make_data(net.spec)
    want = net.loss_and_grads(params, X.tolist(), y.tolist())  # lists: checked and cast
    got = net.checked_loss_and_grads(params, *net.check_data(X, y))
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[2], want[2], strict=True)
    for k in params:
        np.testing.assert_array_equal(got[1][k], want[1][k], strict=True)
