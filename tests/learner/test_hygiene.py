"""Hygiene: the learner's own exceptions (with its traceback, not ours), inputs changed in
place, numbers that change between two runs, gradients of the wrong shape; and adapters that do
not fit the network fail with one message naming the fix."""

from __future__ import annotations

import numpy as np
import pytest
from planted import DECLARED, NAMES, PlantedMLP, data

from nnparity.reference.learner import LearnerError, check, from_forward, from_gradients, from_step
from nnparity.scratch import SpecError


def _check(grads, net=None, **kw):
    X, y = data()
    net = net or PlantedMLP()
    return check(
        from_gradients(net, NAMES, grads, **{**DECLARED, **kw}), X, y, steps=3, probe=False
    )


def _deep_learner_error(X, W):
    return W @ X  # (3, 4) @ (6, 3): the learner's own mistake


def test_learner_exception_shows_the_learners_traceback_only():
    net = PlantedMLP()
    r = _check(lambda X, y: _deep_learner_error(X, net.W1), net)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["learner_exception"]
    ev = r.findings[0].evidence
    assert "test_hygiene.py" in ev and "_deep_learner_error" in ev and "W @ X" in ev
    assert "ValueError" in ev and "matmul" in ev
    assert "reference/learner" not in ev


def test_input_mutated_in_place_is_reported():
    net = PlantedMLP()

    def grads(X, y):
        g = net.grads(X, y)
        X *= 0  # "normalising" the batch in place, after use
        return g

    r = _check(grads, net)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["input_mutation"]
    assert "changed its input X in place at step 1" in r.findings[0].evidence


def test_non_deterministic_gradients_are_reported():
    net = PlantedMLP()
    noise = np.random.default_rng()

    def grads(X, y):
        g = net.grads(X, y)
        g["W1"] = g["W1"] + noise.normal(scale=1e-3, size=g["W1"].shape)
        return g

    r = _check(grads, net)
    assert r.verdict == "implementation_bug"
    assert r.codes()[0] == "nondeterministic"
    assert "differ between two runs" in r.finding("nondeterministic").evidence
    # the fix names the other source too: an order that changes between runs (review s18a)
    assert "= where += belongs" in r.finding("nondeterministic").hint


def test_hygiene_comes_first_and_the_mismatches_are_its_consequence():
    X, y = data()
    net, noise = PlantedMLP(), np.random.default_rng()

    def dropout_step(X, y):  # an unseeded dropout mask on the input
        net.step(X * (noise.uniform(size=X.shape) > 0.2) / 0.8, y)

    def centring_step(X, y):
        X -= X.mean(0)  # in place, before use
        net.step(X, y)

    for fn, code in ((dropout_step, "nondeterministic"), (centring_step, "input_mutation")):
        r = check(from_step(net, NAMES, fn, **DECLARED), X, y, steps=3, probe=False)
        assert r.verdict == "implementation_bug"
        assert r.codes()[0] == code and "unexplained_mismatch" in r.codes(), r.render()
        assert f"likely a consequence of {code}" in r.finding("unexplained_mismatch").evidence


def test_a_deterministic_step_is_not_called_nondeterministic():
    X, y = data()
    net = PlantedMLP()
    adapter = from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED)
    r = check(adapter, X, y, steps=3, watch=0, probe=False)
    assert r.verdict == "match" and r.findings == (), r.render()


def test_transposed_gradient_shape_is_told_in_the_weights_own_shape():
    """The weight's stored shape says the layout: "or declare the layout" could not help
    (review s24c F7)."""
    net = PlantedMLP("layout")
    r = _check(net.grads, net)
    assert r.codes() == ["wrong_shape"]
    f = r.findings[0]
    assert f.params == ("W1",)
    assert f.evidence == (
        "gradient of W1: expected (3, 4), got (4, 3): transposed against its weight, stored "
        "(3, 4): return it in the weight's own shape (a_prev.T @ dz)"
    )


def test_bias_gradient_not_summed_over_the_batch():
    net = PlantedMLP("bias_not_summed")
    r = _check(net.grads, net)
    assert r.codes() == ["bias_reduction"]
    assert "not summed over the batch; use dz.sum(axis=0)" in r.findings[0].evidence


def test_bias_gradient_summed_over_the_units():
    net = PlantedMLP("bias_axis1")
    r = _check(net.grads, net)
    assert r.codes() == ["bias_reduction"]
    assert "one entry per sample (6): summed over the units (axis 1)" in r.findings[0].evidence


def test_a_vector_target_broadcast_against_a_column():
    p = {"W": np.full((2, 1), 0.1), "b": np.zeros(1)}

    def grads(X, y):  # (N, 1) - (N,) -> (N, N): the learner's own data is a vector
        d = (X @ p["W"] + p["b"] - y) / len(X)
        return {"W": X.T @ d, "b": d.sum(0)}

    adapter = from_gradients(
        p, ["W", "b"], grads, sizes=[2, 1], activations="identity", loss="half_sse", lr=0.1
    )
    X = np.random.default_rng(0).normal(size=(5, 2))
    r = check(adapter, X, X[:, 0], steps=2, probe=False)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["broadcast_shape"], r.render()
    f = r.findings[0]
    assert f.params == ("W", "b") and "expected (2, 1), got (2, 5)" in f.evidence  # b too
    assert "a (5,) vector met a (5, 1) array" in f.evidence and "reshape(-1, 1)" in f.hint


def test_forward_output_of_the_wrong_shape():
    net = PlantedMLP()
    X, _ = data()
    r = check(from_forward(net, NAMES, lambda X: net.forward(X)[None], **DECLARED), X, steps=1)
    assert r.codes() == ["wrong_shape"]
    assert "expected (6, 2)" in r.findings[0].evidence


@pytest.mark.parametrize(
    "change, message",
    [
        ({"params": NAMES[:4]}, "4 parameter name(s) given"),
        (
            {"sizes": [3, 5, 4, 2]},
            "W1 is (3, 4), W2 is (4, 4), W3 is (4, 2)): they imply sizes=[3, 4, 4, 2]",
        ),
        ({"params": ["W1", "b1", "W2", "b2", "W3", "bias3"]}, "has no 'bias3'; its arrays: W1, b1"),
        ({"bias": "sometimes"}, "bias must be one of separate, folded, none"),
        ({"layout": "rows"}, "layout must be 'in_out' or 'out_in'"),
        ({"colour": "red"}, "unknown declaration(s) colour"),
    ],
)
def test_adapter_errors_name_the_fix(change, message):
    net = PlantedMLP()
    params = change.pop("params", NAMES)
    with pytest.raises(LearnerError) as e:
        adapter = from_gradients(net, params, net.grads, **{**DECLARED, **change})
        adapter.bind()
    assert message in str(e.value)


def test_unknown_loss_name_suggests_the_close_one():
    net = PlantedMLP()
    with pytest.raises(SpecError, match="did you mean 'half_sse'") as e:
        from_gradients(net, NAMES, net.grads, **{**DECLARED, "loss": "half_sse2"})
    assert isinstance(e.value, LearnerError) and e.value.__suppress_context__


def test_a_typo_in_a_file_is_one_line_with_the_learners_line(tmp_path):
    from nnparity.reference.learner.loader import load

    f = tmp_path / "typo.py"
    f.write_text(
        "def nnparity_adapter():\n"
        "    from nnparity.reference.learner import from_forward\n"
        "    return from_forward({'W': 0}, ['W'], abs, sizes=[1, 1],\n"
        "                        activations='sigmiod', bias='none')\n"
    )
    with pytest.raises(LearnerError) as e:
        load(str(f))
    text = str(e.value)
    assert text.startswith("typo.py:3 (in nnparity_adapter): unknown activation 'sigmiod'")
    assert "did you mean 'sigmoid'" in text and "\n" not in text and "scratch" not in text


def test_a_wrong_count_names_the_order_and_wb_only_when_folded():
    net = PlantedMLP()
    with pytest.raises(LearnerError) as e:
        from_gradients(net, NAMES[:4], net.grads, **DECLARED).bind()
    assert "in this order: W1, b1, W2, b2, W3, b3" in str(e.value)
    assert "Wb" not in str(e.value)
    with pytest.raises(LearnerError, match=r"W1, Wb2, W3 \(Wb: weights with the bias folded"):
        from_gradients(
            net, NAMES[:2], net.grads, **DECLARED, bias=("none", "folded", "none")
        ).bind()


def test_square_weights_need_a_declared_layout():
    params = {"W1": np.eye(2), "W2": np.eye(2)}
    with pytest.raises(LearnerError, match="cannot tell the layout from square weights"):
        from_forward(
            params,
            ["W1", "W2"],
            lambda X: X,
            sizes=[2, 2, 2],
            activations="tanh,identity",
            bias="none",
        ).bind()


ALIAS = """
import numpy as np
from nnparity.reference.learner import from_gradients

r = np.random.RandomState(3)
Ws = [r.randn(4, 4) * 0.5] * 2 if {alias} else [r.randn(4, 4) * 0.5 for _ in range(2)]
params = [r.randn(2, 4) * 0.5, Ws[0], Ws[1], r.randn(4, 1) * 0.5]
X = r.randn(8, 2)
Y = (X[:, :1] > 0).astype(float)


def grads(X, y):
    W1, W2, W3, W4 = params
    a1 = np.tanh(X @ W1)
    a2 = np.tanh(a1 @ W2)
    a3 = np.tanh(a2 @ W3)
    out = a3 @ W4
    d = 2 * (out - y) / out.size
    d3 = d @ W4.T * (1 - a3**2)
    d2 = d3 @ W3.T * (1 - a2**2)
    d1 = d2 @ W2.T * (1 - a1**2)
    return [X.T @ d1, a1.T @ d2, a2.T @ d3, a3.T @ d]


def nnparity_adapter():
    return from_gradients(
        params, [f"[{{i}}]" for i in range(4)], grads, sizes=[2, 4, 4, 4, 1],
        activations="tanh,tanh,tanh,identity", bias="none", loss="mse", optimizer="sgd",
        lr=0.1, data=(X, Y),
    )
"""


@pytest.mark.parametrize("where", ["here", "sandbox"])
def test_parameters_sharing_one_array_are_named(tmp_path, capsys, where):
    """[W] * 2 gives two layers one array: every step moves both (review s5), named up front
    whether the learner runs in this process or in the sandbox's."""
    import importlib.util
    import json

    from nnparity.reports.cli import main

    for alias in (True, False):
        f = tmp_path / f"alias_{alias}.py"
        f.write_text(ALIAS.format(alias=alias))
        if where == "sandbox":
            main(["check", str(f), "--steps", "3", "--no-probe", "--json"])
            out = json.loads(capsys.readouterr().out)
            codes = [(x["code"], x["params"]) for x in out["findings"]]
        else:
            spec = importlib.util.spec_from_file_location(f"alias_{alias}", f)
            m = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(m)
            r = check(m.nnparity_adapter(), m.X, m.Y, steps=3, probe=False)
            out = {"code": r.code}
            codes = [(x.code, list(x.params)) for x in r.findings]
        if alias:
            assert out["code"] == "implementation_bug"
            assert codes[0] == ("aliased_parameters", ["[1]", "[2]"]), codes
        else:
            assert out["code"] == "match" and not codes, codes


@pytest.mark.parametrize("axis", [0, None])
def test_a_column_major_bias_reduction_fix_is_written_for_columns(axis):
    """Review s5: with samples as columns (layout='out_in') the fix said dz.sum(axis=0), the
    learner's own bug; it must say dZ.sum(axis=1, keepdims=True)."""
    rng = np.random.RandomState(0)
    P = {"W1": rng.randn(4, 2), "b1": np.zeros((4, 1)), "W2": rng.randn(1, 4)}
    P["b2"] = np.zeros((1, 1))
    X, Y = rng.randn(6, 2), rng.rand(6, 1)

    def grads(Xc, Yc):  # columns: Xc (2, m)
        a1 = np.tanh(P["W1"] @ Xc + P["b1"])
        out = P["W2"] @ a1 + P["b2"]
        dz2 = (out - Yc) / Xc.shape[1]
        dz1 = P["W2"].T @ dz2 * (1 - a1**2)
        db1 = dz1.sum(axis=1, keepdims=True) if axis is None else dz1.sum(axis=0, keepdims=True)
        return {"W1": dz1 @ Xc.T, "b1": db1, "W2": dz2 @ a1.T, "b2": dz2.sum(1, keepdims=True)}

    a = from_gradients(P, ["W1", "b1", "W2", "b2"], lambda X, y: grads(X.T, y.T), sizes=[2, 4, 1],
                       activations="tanh,identity", loss="half_sse", optimizer="sgd", lr=0.1,
                       layout="out_in")  # fmt: skip
    r = check(a, X, Y, steps=2, probe=False)
    if axis is None:
        assert r.code == "match", r.render()
        return
    f = r.findings[0]
    assert (f.code, f.params) == ("bias_reduction", ("b1",)), r.render()
    assert "dZ.sum(axis=1, keepdims=True)" in f.hint and "axis=0" not in f.hint, r.render()


def test_a_broadcast_bias_names_both_gradient_shapes_that_make_it():
    """Review s19a: a (1, 8) db beside a (8, 1) bias was said to be an (8,) gradient."""
    from nnparity.reference.learner.grad_shape import _example

    assert _example((8, 1), (8, 8)) == (
        " (a (8, 1) parameter minus a gradient of shape (8,) or (1, 8) is (8, 8))"
    )
    assert "(8,) or (8, 1)" in _example((1, 8), (8, 8)) and _example((8,), (8, 8)) == ""


def test_a_forward_pass_with_dropout_left_on_is_nondeterministic():
    """Review s23b F10: dropout left on in predict was an unexplained forward mismatch; the
    forward is now called twice at step 1, and one that parts from itself is said so."""
    net = PlantedMLP()

    def forward(X):
        return net.forward(X) * (np.random.rand(len(X), 1) < 0.8) / 0.8

    r = _check(net.grads, net, forward=forward)
    f = r.findings[0]
    assert (r.verdict, f.code) == ("implementation_bug", "nondeterministic"), r.render()
    assert "your forward pass returns other outputs" in f.evidence and "dropout" in f.hint
    assert _check(net.grads, net, forward=net.forward).verdict == "match"


def test_integer_gradients_are_said_as_their_dtype():
    """Review s30b F9: int64 gradients (an astype(int)) read 'all zeros (never computed?)'."""
    net = PlantedMLP()
    r = _check(lambda X, y: {k: (v * 1e3).astype(int) for k, v in net.grads(X, y).items()}, net)
    f = r.findings[0]
    assert (r.verdict, f.code) == ("implementation_bug", "gradient_dtype"), r.render()
    assert "int64 arrays" in f.evidence and "dtype=float" in f.hint


def test_a_bug_verdict_at_a_nan_never_blames_a_flag_not_given():
    """Review s30b F10: a NaN at step 1 in the gradients alone (the code's) said 'the training
    probe was not run (probe=False)' where the probe was on."""
    net = PlantedMLP()

    def grads(X, y):
        g = net.grads(X, y)
        g["b2"] = g["b2"] * np.nan
        return g

    X, y = data()
    r = check(from_gradients(net, NAMES, grads, **DECLARED), X, y, steps=3)
    assert r.verdict == "implementation_bug", r.render()
    assert r.training.reached == "the code does not match PyTorch yet", r.render()
