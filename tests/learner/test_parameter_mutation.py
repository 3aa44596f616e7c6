"""A learner function other than the step that changes the weights in place (review s23b F1,
F2): ``W1 *= 0.5`` at the end of the gradient function, a forward that rescales W1. The check
writes the weights before every call, so such a change never reached the twin, and a program
that does not learn said ``match``; now each is ``parameter_mutation`` naming the function and
the parameters (an update written inside backprop is a note: it may be the program's only
one). Caches written beside the weights are no change of them."""

from __future__ import annotations

import pytest
from planted import DECLARED, NAMES, PlantedMLP, data

from nnparity.reference.learner import check, from_gradients


def _check(grads, net, **kw):
    X, y = data()
    return check(
        from_gradients(net, NAMES, grads, **{**DECLARED, **kw}), X, y, steps=3, probe=False
    )


def _mutation(r):
    assert r.verdict == "implementation_bug", r.render()
    f = next(f for f in r.findings if f.code == "parameter_mutation")
    return f


def test_a_gradient_function_that_scales_a_weight_in_place_is_named():
    net = PlantedMLP()

    def grads(X, y):
        g = net.grads(X, y)
        net.W1 *= 0.5
        return g

    f = _mutation(_check(grads, net))
    assert "your gradient function changed the weights in place at step 1" in f.evidence
    assert "W1 after the call = 0.5 x before" in f.evidence and f.params == ("W1",)


def test_an_update_inside_the_gradient_function_is_said_as_a_note():
    """A backward that updates as it goes is training of its own (its loop may take no other
    step): the gradients are compared, its update is held to the declared one, and a note says
    a second update would double it."""
    net = PlantedMLP()

    def grads(X, y):
        g = net.grads(X, y)
        for n in NAMES:
            getattr(net, n)[...] -= 0.1 * g[n]
        return g

    r = _check(grads, net)
    assert r.verdict == "match", r.render()
    (f,) = [f for f in r.findings if f.code == "update_in_backward"]
    assert f.kind == "note" and f.params == tuple(NAMES) and "taken twice" in f.hint


def test_a_forward_pass_that_rescales_a_weight_is_named_not_called_random():
    net = PlantedMLP()

    def forward(X):
        net.W2 *= 0.9
        return net.forward(X)

    r = _check(net.grads, net, forward=forward)
    f = _mutation(r)
    assert "your forward pass changed the weights" in f.evidence and f.params == ("W2",)


@pytest.mark.parametrize("forward", [False, True])
def test_caches_beside_the_weights_are_no_change(forward):
    net = PlantedMLP()

    def grads(X, y):
        net.cache = net.W1.copy()  # state beside the weights, and the forward's caches
        return net.grads(X, y)

    kw = {"forward": net.forward} if forward else {}
    r = _check(grads, net, **kw)
    assert r.verdict == "match", r.render()


def test_a_momentum_update_inside_the_gradient_function_stays_a_note():
    """Its later steps need not be downhill (the velocity carries earlier gradients): the
    first move is read once, and the function is taken as one that updates as it goes, its
    update held to the declared momentum's."""
    net = PlantedMLP()
    r = _check(_momentum(net), net, optimizer="sgd(momentum=0.9)")
    assert r.verdict == "match", r.render()
    assert [f.code for f in r.findings if f.kind != "note"] == [], r.render()
    assert "update_in_backward" in [f.code for f in r.findings], r.render()


def _updating(net, lr, scale=1.0):
    def grads(X, y):
        g = net.grads(X, y)
        for n in NAMES:
            getattr(net, n)[...] -= lr * scale * g[n]
        return g

    return grads


@pytest.mark.parametrize("undeclared", [False, True])
def test_an_update_inside_the_gradient_function_is_held_to_the_declared_one(undeclared):
    """Review s30 (both reviewers): a backward whose own update divides by N again (or runs
    another momentum than declared) said `match`, its update never compared; it is the step."""
    net = PlantedMLP()
    if undeclared:  # momentum inside, plain SGD declared
        r = _check(_momentum(net), net)
    else:
        r = _check(_updating(net, 0.1, 1 / len(data()[0])), net)
    assert r.verdict == "implementation_bug", r.render()
    f = next(f for f in r.findings if f.kind != "note")
    assert f.code == "optimizer_update_mismatch", r.render()
    if not undeclared:
        assert f"= 1/N (N = {len(data()[0])})" in f.evidence, f.evidence


def _momentum(net):
    v = {n: 0.0 for n in NAMES}

    def grads(X, y):
        g = net.grads(X, y)
        for n in NAMES:
            v[n] = 0.9 * v[n] - 0.1 * g[n]
            getattr(net, n)[...] += v[n]
        return g

    return grads


def test_an_update_in_backward_and_again_in_the_step_is_update_twice():
    """Review s30b F2: the step given beside a backward that updates takes the update again
    (the check wrote the weights back before the step, and said `match`)."""
    net = PlantedMLP()
    grads = _updating(net, 0.1)

    def step(X, y):
        for n in NAMES:
            getattr(net, n)[...] -= 0.1 * net.last[n]

    def shown(X, y):
        net.last = grads(X, y)
        return net.last

    r = _check(shown, net, step=step)
    assert r.verdict == "implementation_bug", r.render()
    assert r.findings[0].code == "update_twice", r.render()
    assert "takes the same update again" in r.findings[0].evidence
    assert _check(_updating(net, 0.1), net).verdict == "match"  # the one update alone


def test_an_update_inside_with_the_declared_weight_decay_is_a_note():
    """Review s30c F9: p -= lr (g + wd p) inside the gradient function, weight_decay declared:
    where the decay outweighs g the first move is not against g's sign; against g + wd p it is."""
    net = PlantedMLP()

    def grads(X, y):
        g = net.grads(X, y)
        for n in NAMES:
            p = getattr(net, n)
            p[...] -= 0.1 * (g[n] + 0.5 * p)
        return g

    r = _check(grads, net, optimizer="sgd(weight_decay=0.5)")
    assert r.verdict == "match", r.render()
    assert "update_in_backward" in r.codes(), r.render()
