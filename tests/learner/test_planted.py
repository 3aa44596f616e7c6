"""Every finding code the checker claims is caught when planted, and named with its evidence;
a mismatch no hypothesis explains is reported as unexplained_mismatch, never as a class."""

from __future__ import annotations

import numpy as np
import pytest
from planted import DECLARED, NAMES, PlantedMLP, data

from nnparity.reference.learner import check, from_forward, from_gradients, from_step

GRADIENT_BUGS = {
    # bug: (codes, params of the first finding, evidence fragment)
    "sign": (["sign_flip"], ("W3", "b3", "W2", "b2", "W1", "b1"), "c = -1.0000 = -1"),
    "sum": (["scale_factor"], ("W3", "b3", "W2", "b2", "W1", "b1"), "c = 6.0000 = N (N = 6)"),
    "mse_grad": (["scale_factor"], ("W3", "b3", "W2", "b2", "W1", "b1"), "c = 2.0000 = 2"),
    "missing_out": (["derivative_of_output"], ("W3", "b3"), "no sigma' at all"),
    "at_output": (["derivative_of_output"], ("W3", "b3"), "evaluated at the output"),
    "twice": (["derivative_of_output"], ("W3", "b3"), "applied twice"),
    "sigmoid_of_z": (["wrong_activation_derivative"], ("W3", "b3"), "z (1 - z)"),
    "sigmoid_deriv": (["wrong_activation_derivative"], ("W2", "b2"), "sigma(z), the activation"),
    "z_deriv": (["wrong_activation_derivative"], ("W2", "b2"), "z itself in place of relu'(z)"),
    "tanh_of_z": (["wrong_activation_derivative"], ("W1", "b1"), "1 - z^2"),
    "tanh_sigmoid_formula": (
        ["wrong_activation_derivative"],
        ("W1", "b1"),
        "a (1 - a), sigma's derivative in terms of its output, applied to a = tanh(z)",
    ),
    "mask_from_z1": (["wrong_cached_activation"], ("W2", "b2"), "relu'(z1): the derivative (or"),
    "mask_on_grad": (["wrong_activation_derivative"], ("W2", "b2"), "mask taken on the incoming"),
    "cache": (["wrong_cached_activation"], ("W3",), "built from z_2 (pre-activation)"),
    "inplace": (["inplace_mutation"], ("W3",), "dW3 built from f'(z_2)"),
    "bias_mean": (["bias_reduction"], ("b3",), "averaged over the batch"),
    "bias_total": (["bias_reduction"], ("b3",), "one scalar"),
    "transposed": (["transposed"], ("W2",), "dW transposed"),
    "backT": (["transposed"], ("W1", "b1"), "through W2 transposed"),
    "unexplained": (["unexplained_mismatch"], ("W1",), "no candidate bug reproduces it"),
}


@pytest.mark.parametrize("bug", list(GRADIENT_BUGS))
def test_planted_gradient_bug_is_named(bug):
    codes, params, fragment = GRADIENT_BUGS[bug]
    X, y = data()
    net = PlantedMLP(bug)
    r = check(from_gradients(net, NAMES, net.grads, **DECLARED), X, y, steps=3, probe=False)
    assert r.verdict == "implementation_bug"
    assert r.codes() == codes, r.render()
    f = r.findings[0]
    assert f.params == params and f.step == 1
    assert fragment in f.evidence, f.evidence


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leaky_relu_with_the_plain_relu_derivative(dtype):
    """In float32 leaky_relu' applied twice (slope^2 = 1e-4 on the negative side) fits within
    the hypotheses' tolerance too, and came first (review s12): the closer fit is named."""
    X, y = (a.astype(dtype) for a in data())
    net = PlantedMLP("leaky_as_relu", hidden="leaky_relu")
    for k in NAMES:
        setattr(net, k, getattr(net, k).astype(dtype))
    declared = {**DECLARED, "activations": "tanh,leaky_relu,sigmoid"}
    r = check(from_gradients(net, NAMES, net.grads, **declared), X, y, steps=3, probe=False)
    assert r.codes() == ["wrong_activation_derivative"]
    assert "relu'(z) in place of leaky_relu'(z)" in r.findings[0].evidence


def test_updated_weights_used_in_an_in_place_step():
    X, y = data()
    net = PlantedMLP("updated")
    r = check(
        from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED), X, y, steps=3, probe=False
    )
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["updated_weights_used", "updated_weights_used"]
    assert [f.params for f in r.findings] == [("W2", "b2"), ("W1", "b1")]
    assert "W3 after its update" in r.findings[0].evidence


def test_ascent_in_an_in_place_step_is_a_sign_flip():
    X, y = data()
    net = PlantedMLP("ascent")
    r = check(
        from_step(net, NAMES, lambda X, y: net.step(X, y), **DECLARED), X, y, steps=3, probe=False
    )
    assert r.codes() == ["sign_flip"]
    assert r.findings[0].hint.startswith("your step moves these weights up the loss")


@pytest.mark.parametrize(
    "variant, fragment",
    [("no_bias_correction", "no bias correction"), ("eps_inside", "eps inside")],
)
def test_optimizer_update_mismatch_names_the_variant(variant, fragment):
    from nnparity.reference.learner.optim import Sim, to_tensors

    X, y = data()
    net = PlantedMLP()
    sim = Sim("adam", {"lr": 0.01, "eps": 1e-3}, variant)

    def step(X, y):
        g = to_tensors(net.grads(X, y))
        new = sim.step(to_tensors({k: getattr(net, k) for k in NAMES}), g)
        for k, v in new.items():
            setattr(net, k, v.numpy())

    declared = {**DECLARED, "optimizer": "adam(eps=0.001)", "lr": 0.01}
    adapter = from_gradients(net, NAMES, net.grads, step=step, **declared)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    assert fragment in r.findings[0].evidence
    assert all(row.first_bad_step is None for row in r.table if row.stage == "grad")


def _adam_step(net, variant, sgd=False):
    from nnparity.reference.learner.optim import Sim, to_tensors

    sim = Sim("sgd", {"lr": 0.01}) if sgd else Sim("adam", {"lr": 0.01, "eps": 1e-3}, variant)

    def step(X, y):
        g = to_tensors(net.grads(X, y))
        new = sim.step(to_tensors({k: getattr(net, k) for k in NAMES}), g)
        for k, v in new.items():
            setattr(net, k, v.numpy())

    return step


@pytest.mark.parametrize(
    "variant, sgd, code, fragment",
    [
        ("no_bias_correction", False, "optimizer_update_mismatch", "no bias correction"),
        ("eps_inside", False, "optimizer_update_mismatch", "eps inside"),
        (None, True, "optimizer_update_mismatch", "plain SGD (w -= lr * g) with lr = 0.01"),
    ],
)
def test_step_only_adam_variants_are_named_from_pytorchs_gradients(variant, sgd, code, fragment):
    X, y = data()
    net = PlantedMLP()
    declared = {**DECLARED, "optimizer": "adam(eps=0.001)", "lr": 0.01}
    r = check(from_step(net, NAMES, _adam_step(net, variant, sgd), **declared), X, y, steps=3)
    assert r.verdict == "implementation_bug"
    assert r.codes() == [code], r.render()
    assert fragment in r.findings[0].evidence
    assert "PyTorch's gradients at your weights" in r.findings[0].evidence
    assert "v = b2 v + (1 - b2) g^2" in r.findings[0].hint  # the equation, not a file to read


def test_step_only_adam_with_a_gradient_bug_is_unexplained_not_a_crash():
    X, y = data()
    net = PlantedMLP("z_deriv")
    declared = {**DECLARED, "optimizer": "adam(eps=0.001)", "lr": 0.01}
    r = check(from_step(net, NAMES, _adam_step(net, None), **declared), X, y, steps=3)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["unexplained_mismatch"], r.render()
    assert "cannot be told apart" in r.findings[0].evidence


@pytest.mark.parametrize(
    "bug, code, fragment",
    [
        ("forward_transposed", "transposed", "W1 used transposed"),
        ("forward_no_bias", "bias_not_applied", "bias b2 not added"),
        ("forward_tanh", "wrong_activation", "tanh applied at layer 3"),
        # review s59b F10: the bias after the activation; iamtrask's 1 / (1 + np.exp(x))
        ("forward_bias_after", "wrong_activation", "bias added after its activation, relu"),
        ("forward_sigmoid_sign", "wrong_activation", "sigmoid(-z) at layer 3: 1 / (1 + np.exp(z"),
    ],
)
def test_forward_only_bugs(bug, code, fragment):
    X, y = data()
    net = PlantedMLP(bug)
    if bug == "forward_transposed":  # a square first layer, so the shape hides it
        net = _square_first(bug)
    adapter = from_forward(net, NAMES, net.forward, **{**DECLARED, "sizes": _sizes(net)})
    r = check(adapter, X if bug != "forward_transposed" else X[:, :3], None, steps=2)
    assert r.verdict == "implementation_bug"
    assert r.codes() == [code]
    assert fragment in r.findings[0].evidence
    if bug == "forward_bias_after":  # (review s60a F9: the fix said "apply the activation")
        assert "bias before its activation: a = relu(x W + b)" in r.findings[0].hint


def _square_first(bug):
    net = PlantedMLP(bug)
    net.W1 = np.random.default_rng(5).normal(size=(3, 3))
    net.b1 = np.zeros(3)
    net.W2 = np.random.default_rng(6).normal(size=(3, 4))
    return net


def _sizes(net):
    return [net.W1.shape[0], net.W1.shape[1], 4, 2]


def test_naive_softmax_overflow_is_an_instability():
    rng = np.random.default_rng(0)
    p = {"W1": 2000 * rng.normal(size=(2, 3)), "b1": np.zeros(3)}

    def loss(X, y):
        z = X @ p["W1"] + p["b1"]
        e = np.exp(z)
        q = e / e.sum(1, keepdims=True)
        d = q.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        return -np.mean(np.log(q[np.arange(len(y)), y])), {"W1": X.T @ d, "b1": d.sum(0)}

    from nnparity.reference.learner import from_loss

    adapter = from_loss(
        p, loss, sizes=[2, 3], activations="identity", loss="cross_entropy", optimizer="sgd", lr=0.1
    )
    X, y = rng.normal(size=(5, 2)), rng.integers(0, 3, 5)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.verdict == "numerical_instability"
    assert r.codes() == ["nonfinite"]
    assert "exp overflows in the loss: the largest logit reaches" in r.findings[0].evidence
    assert "RuntimeWarning 'overflow encountered in exp'" in r.findings[0].evidence


@pytest.mark.parametrize("factor, code", [(-1.0, "sign_flip"), (2.0, "optimizer_update_mismatch")])
def test_own_update_against_own_gradients(factor, code):
    X, y = data()
    net = PlantedMLP()

    def step(X, y):
        for k, g in net.grads(X, y).items():
            setattr(net, k, getattr(net, k) - factor * 0.1 * g)

    r = check(
        from_gradients(net, NAMES, net.grads, step=step, **DECLARED), X, y, steps=3, probe=False
    )
    assert r.verdict == "implementation_bug"
    assert r.codes() == [code]
    assert f"c = {factor:.4f}" in r.findings[0].evidence


REG_BUGS = {
    # bug, declared: evidence fragment, fix fragment
    (None, "none"): ("0.05/2 sum W^2 in the loss) that is not declared", "declare l2=0.05"),
    (None, "weight_decay"): ("applied by the optimizer in the update", "instead of weight_decay"),
    ("l2_double", "l2"): ("2 lambda W = 0.1 W where l2 = 0.05", "drop the 2"),
    ("l2_missing", "l2"): ("is missing from your gradients", "add l2 * W"),
    ("l2_sign", "l2"): ("wrong sign", "towards 0"),
}


@pytest.mark.parametrize("bug, declared", list(REG_BUGS))
def test_regularization_mismatch_names_the_l2_slip(bug, declared):
    X, y = data()
    net = PlantedMLP(bug, reg=0.05)
    decl = {
        "none": DECLARED,
        "l2": {**DECLARED, "l2": 0.05},
        "weight_decay": {**DECLARED, "optimizer": "sgd(weight_decay=0.05)"},
    }[declared]
    r = check(from_gradients(net, NAMES, net.grads, **decl), X, y, steps=3, probe=False)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["regularization_mismatch"], r.render()
    f = r.findings[0]
    assert f.params == ("W1", "W2", "W3") and f.step == 1
    ev, fix = REG_BUGS[bug, declared]
    assert ev in f.evidence and fix in f.hint, f


def test_l2_applied_to_the_biases_too():
    X, y = data()
    net = PlantedMLP("l2_bias", reg=0.05)
    adapter = from_gradients(net, NAMES, net.grads, **DECLARED, l2=0.05)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.codes() == ["regularization_mismatch"], r.render()
    assert r.findings[0].params == ("b1", "b2", "b3")
    assert "plus 0.05 b" in r.findings[0].evidence and "biases too" in r.findings[0].evidence


SGD_FORMS = {
    # (learner's mu, nesterov), declared optimizer: evidence fragment
    ((0.9, False), "sgd"): "classical momentum mu = 0.9 (v = mu v - lr g; w += v), where plain",
    (
        (0.9, False),
        "sgd(momentum=0.9,nesterov=true)",
    ): "classical momentum with mu = 0.9, where Nes",
    ((0.9, True), "sgd(momentum=0.9)"): "Nesterov momentum with mu = 0.9, where classical",
    ((0.0, False), "sgd(momentum=0.9)"): "plain SGD (no momentum), where momentum 0.9",
}


@pytest.mark.parametrize("form, declared", list(SGD_FORMS))
def test_a_step_with_another_sgd_form_than_declared(form, declared):
    X, y = data()
    net = PlantedMLP()
    mu, nesterov = form
    adapter = from_step(
        net,
        NAMES,
        lambda X, y: net.step(X, y, mu=mu, nesterov=nesterov),
        **{**DECLARED, "optimizer": declared},
    )
    r = check(adapter, X, y, steps=4, probe=False)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["optimizer_update_mismatch"], r.render()  # not nondeterministic
    assert SGD_FORMS[form, declared] in r.findings[0].evidence
    assert r.findings[0].params == ("W1", "b1", "W2", "b2", "W3", "b3")
    if mu == 0.0:  # a velocity not kept: its store first (review s57 C2), the declaration after
        assert r.findings[0].hint.startswith("store your velocity back"), r.render()


@pytest.mark.parametrize("nesterov", [False, True])
def test_the_declared_momentum_form_matches(nesterov):
    X, y = data()
    net = PlantedMLP()
    opt = f"sgd(momentum=0.9,nesterov={str(nesterov).lower()})"
    step = lambda X, y: net.step(X, y, mu=0.9, nesterov=nesterov)  # noqa: E731
    r = check(from_step(net, NAMES, step, **{**DECLARED, "optimizer": opt}), X, y, steps=4)
    assert r.verdict in ("match", "model_limitation"), r.render()
    assert "optimizer_update_mismatch" not in r.codes()


def test_every_name_that_fits_the_factor_is_listed():
    X, y = data()  # N = 6 samples, D = 2 outputs
    net = PlantedMLP("mse_grad")
    r = check(from_gradients(net, NAMES, net.grads, **DECLARED), X, y, steps=3, probe=False)
    f = r.findings[0]
    assert "c = 2.0000 = 2 = D (D = 2)" in f.evidence
    assert "(half_sse) and ||a - y||^2 (sse)" in f.hint and "over all N*D elements" in f.hint


def test_a_step_with_another_learning_rate_suggests_the_lr_first():
    X, y = data()
    net = PlantedMLP()
    adapter = from_step(net, NAMES, lambda X, y: net.step(X, y, lr=0.3), **DECLARED)
    r = check(adapter, X, y, steps=3, probe=False)
    assert r.codes() == ["scale_factor"]
    f = r.findings[0]
    assert "c = 3.0000 = N/2 (N = 6)" in f.evidence
    assert f.hint.startswith("your step is 3 times the declared one: if your update uses lr = 0.3")


def _softmax_net(axis, shift=None):
    rng = np.random.default_rng(4)
    p = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}

    def probs(X):
        z = X @ p["W"] + p["b"]
        e = np.exp(z - z.max(axis=axis if shift is None else shift, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def grads(X, y):
        d = probs(X)
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        return {"W": X.T @ d, "b": d.sum(0)}

    decl = dict(sizes=[3, 4], activations="softmax", loss="cross_entropy", lr=0.1)
    return p, probs, grads, decl


@pytest.mark.parametrize(("axis", "shift"), [(1, None), (0, None), (0, 1)])
def test_softmax_over_the_wrong_axis(axis, shift):
    """(0, 1): CS231n's scores less each row's maximum, then summed over axis 0 (review
    s24a F5: named on the output layer beside three unexplained mismatches)."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 4, 6)
    p, probs, grads, decl = _softmax_net(axis, shift)
    r = check(from_gradients(p, ["W", "b"], grads, forward=probs, **decl), X, y, steps=2)
    f_only = check(from_forward(p, ["W", "b"], probs, **decl), X, None, steps=2)
    if axis == 1:
        assert r.verdict in ("match", "model_limitation") and "softmax_axis" not in r.codes()
        assert f_only.verdict == "match", f_only.render()
        return
    assert r.verdict == f_only.verdict == "implementation_bug"
    assert r.codes() == f_only.codes() == ["softmax_axis"], r.render()
    assert "over the samples instead of over the classes" in r.findings[0].evidence
    assert "e.sum(axis=1, keepdims=True)" in f_only.findings[0].hint


def test_forward_hints_speak_the_learners_layout():
    rng = np.random.default_rng(2)
    P = {"A": rng.normal(size=(3, 3)), "B": rng.normal(size=(2, 3))}  # (out, in)

    def predict(X):  # samples as columns, A used transposed
        return (P["B"] @ np.tanh(P["A"].T @ X.T)).T

    adapter = from_forward(
        P,
        ["A", "B"],
        predict,
        sizes=[3, 3, 2],
        activations="tanh,identity",
        bias="none",
        layout="out_in",
    )
    r = check(adapter, rng.normal(size=(4, 3)), None, steps=1)
    assert r.codes() == ["transposed"]
    assert (
        r.findings[0].hint
        == "use layer 1's weights as stored: z = W @ a_prev + b (W stored (out, in))"
    )
