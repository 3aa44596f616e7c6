"""A correct network in each of the five adapter styles raises no alarm, nor do the things
LEARNER_BUGS.md lists as not bugs (classical momentum, a declared half_sse mean, float32
round-off, relu'(0) = 1)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from planted import DECLARED, NAMES, PlantedMLP, data

from nnparity.reference.learner import check, from_gradients, from_loss, from_step


@pytest.mark.parametrize(
    "name",
    [
        "style_a_nielsen.py",
        "style_b_layers.py",
        "style_c_step.py",
        "seed004_forward_dict.py",
        "style_e_cs231n.py",
        "style_g_scalars.py",
    ],
)
def test_correct_style_matches(run_example, name):
    r = run_example(name, steps=6)
    assert r.verdict == "match", r.render()
    assert [f for f in r.findings if f.kind != "note"] == []


def test_the_scalar_style_with_one_weight_updated_too_early_is_a_bug(tmp_path):
    """style (g)'s view writes through its setters: a planted bug in the scalars shows."""
    from nnparity.reference.learner import check
    from nnparity.reference.learner.loader import load

    src = (Path(__file__).parents[2] / "examples/learners/style_g_scalars.py").read_text()
    bad = src.replace(
        "d_ypred_d_h1, d_ypred_d_h2 = self.w5 * d_o1, self.w6 * d_o1  # before w5, w6 move",
        "self.w5 -= learn_rate * d_L_d_ypred * h1 * d_o1\n"
        "        d_ypred_d_h1, d_ypred_d_h2 = self.w5 * d_o1, self.w6 * d_o1",
    ).replace(
        "        self.w5 -= learn_rate * d_L_d_ypred * h1 * d_o1\n        self.w6",
        "        self.w6",
    )
    assert bad.count("self.w5 -=") == 1 and bad != src
    f = tmp_path / "scalars_bug.py"
    f.write_text(bad)
    adapter, X, y = load(str(f))
    assert check(adapter, X, y, steps=6, probe=False).verdict == "implementation_bug"


def test_correct_planted_mlp_matches_in_gradient_and_step_styles():
    X, y = data()
    net = PlantedMLP()
    r = check(from_gradients(net, NAMES, net.grads, **DECLARED), X, y, steps=4, probe=False)
    assert r.verdict == "match", r.render()
    net = PlantedMLP()
    step = from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED)
    assert check(step, X, y, steps=4, probe=False).verdict == "match"


def test_relu_kink_convention_is_not_a_bug():
    X, y = data()
    X[0] = 0.0  # zero input and zero hidden-layer bias put z exactly at the kink
    net = PlantedMLP("kink")
    net.b1[:] = 0.0
    net.W2[:, 0] = 0.0
    net.b2[0] = 0.0
    r = check(from_gradients(net, NAMES, net.grads, **DECLARED), X, y, steps=2, probe=False)
    assert r.verdict == "match", r.render()
    assert r.codes() == ["kink_convention"]
    assert "relu'(0) = 1 (PyTorch takes 0)" in r.findings[0].evidence  # (leaky: the slope)


def test_float32_learner_is_judged_with_float32_tolerance(examples):
    from nnparity.reference.learner.loader import load

    adapter, _, _ = load(str(examples / "style_e_cs231n.py"))
    for k, v in adapter.root.items():
        adapter.root[k] = v.astype(np.float32)
    X, y = adapter.data
    r = check(adapter, X.astype(np.float32), y, steps=5, probe=False)
    assert r.verdict == "match", r.render()
    assert "dtype=float32" in r.spec


def test_params_dict_with_out_in_layout_and_folded_bias_first():
    rng = np.random.default_rng(0)
    params = {"A": rng.normal(size=(5, 4)), "B": rng.normal(size=(2, 6))}  # (out, in + 1)

    def loss(X, y):
        x1 = np.hstack([np.ones((len(X), 1)), X])
        h = np.tanh(x1 @ params["A"].T)
        h1 = np.hstack([np.ones((len(X), 1)), h])
        out = h1 @ params["B"].T
        d = (out - y) / len(X)
        dB = d.T @ h1
        dh = (d @ params["B"][:, 1:]) * (1 - h**2)
        return 0.5 * np.sum((out - y) ** 2) / len(X), {"A": dh.T @ x1, "B": dB}

    adapter = from_loss(
        params,
        loss,
        names=["A", "B"],
        sizes=[3, 5, 2],
        activations="tanh,identity",
        bias="folded",
        fold="first",
        loss="half_sse",
        optimizer="sgd",
        lr=0.1,
    )
    X, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.verdict == "match", r.render()
    assert "layout=out_in" in r.spec
    assert [row.name for row in r.table[1:]] == [
        "A (weights)",
        "A (bias column)",
        "B (weights)",
        "B (bias column)",
    ]


def test_step_only_with_adam_compares_post_step_weights():
    from nnparity.reference.learner.optim import Sim, to_tensors

    X, y = data()
    net = PlantedMLP()
    sim = Sim("adam", {"lr": 0.01})

    def step(X, y):
        new = sim.step(to_tensors({k: getattr(net, k) for k in NAMES}), to_tensors(net.grads(X, y)))
        for k, v in new.items():
            setattr(net, k, v.numpy())

    adapter = from_step(net, NAMES, step, **{**DECLARED, "optimizer": "adam", "lr": 0.01})
    r = check(adapter, X, y, steps=4, probe=False)
    assert r.verdict == "match", r.render()
    assert {row.stage for row in r.table} == {"update"}


def test_assert_learner_matches_helper():
    from nnparity.reference.learner import assert_learner_matches

    X, y = data()
    net = PlantedMLP()
    adapter = from_gradients(net, NAMES, net.grads, **DECLARED)
    assert assert_learner_matches(adapter, X, y, steps=2, probe=False).passed
    bad = PlantedMLP("sum")
    adapter = from_gradients(bad, NAMES, bad.grads, **DECLARED)
    with pytest.raises(AssertionError) as e:
        assert_learner_matches(adapter, X, y, steps=2, probe=False)
    text = str(e.value)
    assert text.startswith("expected verdict 'match', got 'implementation_bug' (the code verdict)")
    assert "scale_factor" in text and "parameters:" in text
    r = assert_learner_matches(adapter, X, y, steps=2, probe=False, expect="implementation_bug")
    assert r.codes() == ["scale_factor"]


def test_a_loss_value_off_with_right_gradients_is_only_a_note():
    X, y = data()
    net = PlantedMLP()

    def loss_and_grads(X, y):
        g = net.grads(X, y)
        return 0.5 * float(((net.a3 - y) ** 2).sum()), g  # printed summed, declared mean

    r = check(from_gradients(net, NAMES, loss_and_grads, **DECLARED), X, y, steps=2, probe=False)
    assert r.verdict == "match"
    assert r.codes() == ["loss_value_mismatch"] and r.findings[0].kind == "note"


def test_a_batch_size_that_does_not_divide_the_data_is_no_alarm():
    X, y = data(n=10)
    net = PlantedMLP()
    adapter = from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED, batch_size=3)
    r = check(adapter, X, y, steps=5, watch=0, probe_steps=50)
    assert r.verdict in ("match", "model_limitation"), r.render()
    assert not [x for x in r.records if not x.passed]


def test_a_vector_target_reaches_the_learners_code_as_a_vector():
    rng = np.random.default_rng(3)
    p = {"W": rng.normal(size=(3, 1)), "b": np.zeros(1)}
    seen = []

    def grads(X, y):  # correct for y of shape (N,): out[:, 0] - y
        seen.append(y.shape)
        d = ((X @ p["W"] + p["b"])[:, 0] - y) / len(X)
        return {"W": X.T @ d[:, None], "b": d.sum(keepdims=True)}

    adapter = from_gradients(
        p, ["W", "b"], grads, sizes=[3, 1], activations="identity", loss="half_sse", lr=0.1
    )
    X = rng.normal(size=(5, 3))
    r = check(adapter, X, X @ [1.0, -2.0, 0.5], steps=3, probe=False)
    assert r.verdict == "match", r.render()
    assert (5,) in seen and {len(s) for s in seen} == {1}  # a vector (the halves: (2,))


def test_a_declared_l2_penalty_matches_in_gradient_and_step_styles():
    X, y = data()
    net = PlantedMLP(reg=0.05)
    adapter = from_gradients(net, NAMES, net.grads, **DECLARED, l2=0.05)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.verdict == "match", r.render()
    assert "l2=0.05" in r.spec and r.findings == ()
    net = PlantedMLP(reg=0.05)
    step = from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED, l2=0.05)
    assert check(step, X, y, steps=3, probe=False).verdict == "match"


def test_softmax_probabilities_with_cross_entropy(examples):
    """Declared softmax + cross_entropy: the loss on the logits, the probabilities compared.
    Declared identity while the forward returns probabilities: a note, and compared as such."""
    from nnparity.reference.learner.loader import load

    adapter, X, y = load(str(examples / "style_b_layers.py"))
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.verdict == "match" and r.findings == (), r.render()
    assert "softmax (cross_entropy on the logits)" in r.spec
    assert r.table[0].stage == "forward" and r.table[0].first_bad_step is None
    adapter, X, y = load(str(examples / "style_b_layers.py"))
    adapter.conventions = replace(adapter.conventions, activations=("relu", "identity"))
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.verdict == "match", r.render()
    assert r.codes() == ["softmax_output"] and r.findings[0].kind == "note"


def test_logits_declared_and_returned_raise_no_softmax_note(examples):
    from nnparity.reference.learner.loader import load

    adapter, X, y = load(str(examples / "style_e_cs231n.py"))  # forward gives the scores
    r = check(adapter, X, y, steps=2, probe=False)
    assert r.verdict == "match" and r.findings == (), r.render()


@pytest.mark.parametrize("sizes", [[2, 3, 1], [2, 4, 1]])
def test_nielsen_lists_without_biases(examples, monkeypatch, sizes):
    """bias='none': (nabla_b, nabla_w) still arrives; the weights' gradients are the second
    list even when both lists hold one column per layer."""
    monkeypatch.syspath_prepend(str(examples))
    from style_a_nielsen import Network

    net = Network(sizes)
    net.biases = [np.zeros_like(b) for b in net.biases]
    adapter = from_gradients(
        net,
        ["weights[0]", "weights[1]"],
        lambda x, y: net.backprop(x.T, y.T),
        per_sample=True,
        sizes=sizes,
        activations="sigmoid,sigmoid",
        bias="none",
        loss="half_sse",
        lr=3.0,
    )
    X = np.random.default_rng(0).normal(size=(5, 2))
    r = check(adapter, X, (X[:, :1] > 0).astype(float), steps=3, probe=False)
    assert r.verdict == "match", r.render()


def test_check_puts_the_learners_weights_back():
    X, y = data()
    net = PlantedMLP()
    before = {k: getattr(net, k).copy() for k in NAMES}
    alias = net.W1
    check(from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED), X, y, steps=3)
    assert all(np.array_equal(getattr(net, k), before[k]) for k in NAMES)
    assert net.W1 is alias or np.array_equal(alias, before["W1"])


def test_the_leaky_relu_kink_note_says_pytorchs_slope():
    """Review s16b: the leaky_relu kink note said "PyTorch takes 0", where it takes the slope."""
    import torch

    from nnparity.reference.learner.candidates import derivatives

    (kink,) = [d for d in derivatives("leaky_relu", torch.nn.LeakyReLU(0.01)) if d.key == "kink"]
    assert "PyTorch takes the slope, 0.01" in kink.label and "takes 0" not in kink.label
