"""Bugs of state kept across steps, planted in the textbook MLP: a transposed copy of a weight
kept from ``__init__`` (stale from step 2), and a momentum velocity restarted every step."""

from __future__ import annotations

from planted import DECLARED, NAMES, PlantedMLP, data

from nnparity.reference.learner import check, from_gradients


def test_a_transposed_copy_of_w_kept_from_init_is_named_at_step_2():
    X, y = data()
    net = PlantedMLP("stale_W3")
    r = check(from_gradients(net, NAMES, net.grads, **DECLARED), X, y, steps=4, probe=False)
    assert r.codes() == ["stale_weights_used"], r.render()
    f = r.findings[0]
    assert f.params == ("W2", "b2") and f.step == 2
    assert "W3 as it was at step 1" in f.evidence and "never keep a copy" in f.hint


def test_a_velocity_restarted_every_step_is_no_momentum():
    """Review s6c: momentum declared, the velocity zeroed inside the step: plain SGD steps."""
    X, y = data()
    net = PlantedMLP()

    def step(X, y):
        net.__dict__.pop("velocity", None)  # the bug: a fresh velocity each step
        net.step(X, y, mu=0.9)

    decl = {**DECLARED, "optimizer": "sgd(momentum=0.9)"}
    r = check(from_gradients(net, NAMES, net.grads, step=step, **decl), X, y, steps=3, probe=False)
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch" and "no momentum" in f.evidence, r.render()
