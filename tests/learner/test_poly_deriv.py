"""A derivative written wrong as a polynomial of the activation (tanh' as 1 - a, sigmoid' as
1 - a) is fitted and named with its formula (poly_deriv.py). Tested both ways: the right
derivative matches, a doubled one stays a scale factor, a derivative that is no polynomial is
not named as one, and float32 learners are named too."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients

F = {
    "tanh": (np.tanh, lambda a: 1 - a**2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
}


def _check(act: str, deriv=None, dtype=np.float64, sizes=(4, 6, 3)):
    f, true = F[act]
    deriv = deriv or true
    r = np.random.RandomState(3)
    P = [(r.randn(i, o) * 0.7).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    P = [p for W in P for p in (W, np.zeros(W.shape[1], dtype))]
    X, Y = r.randn(16, sizes[0]).astype(dtype), r.randn(16, sizes[-1]).astype(dtype)

    def grads(X, Y):
        acts = [X]
        for i in range(0, len(P) - 2, 2):
            acts.append(f(acts[-1] @ P[i] + P[i + 1]))
        out = acts[-1] @ P[-2] + P[-1]
        d = 2 * (out - Y) / Y.size
        g = [acts[-1].T @ d, d.sum(0)]
        for i in range(len(P) - 4, -1, -2):
            d = d @ P[i + 2].T * deriv(acts[i // 2 + 1])
            g = [acts[i // 2].T @ d, d.sum(0), *g]
        return g

    n = len(sizes) - 1
    a = from_gradients(
        P, [f"[{i}]" for i in range(len(P))], grads, sizes=list(sizes),
        activations=",".join([act] * (n - 1) + ["identity"]), loss="mse", optimizer="sgd",
        lr=0.1, layout="in_out",
    )  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_the_right_derivative_matches(act):
    assert _check(act).code == "match"


@pytest.mark.parametrize(
    ("act", "deriv", "text"),
    [
        ("tanh", lambda a: 1 - a, "1 - a in place of tanh'(z) = 1 - a^2"),
        ("tanh", lambda a: 1 + a**2, "1 + a^2 in place of tanh'(z) = 1 - a^2"),
        ("sigmoid", lambda a: 1 - a, "1 - a in place of sigma'(z) = a (1 - a)"),
        ("sigmoid", lambda a: a - a**3, "a - a^3 in place of sigma'(z) = a (1 - a)"),
    ],
)
def test_a_polynomial_slip_is_named_with_its_formula(act, deriv, text):
    r = _check(act, deriv)
    assert r.codes() == ["wrong_activation_derivative"], r.render()
    assert text in r.findings[0].evidence, r.render()


def test_a_slip_in_the_second_of_two_hidden_layers_is_named_there():
    r = _check("tanh", lambda a: 1 - a, sizes=(4, 6, 5, 3))
    assert r.findings[0].code == "wrong_activation_derivative", r.render()
    assert r.findings[0].layer == 2 and "1 - a in place of" in r.findings[0].evidence


def test_float32_learners_are_named_too():
    r = _check("tanh", lambda a: 1 - a, dtype=np.float32)
    assert r.codes() == ["wrong_activation_derivative"], r.render()
    assert "1 - a in place of" in r.findings[0].evidence


def test_a_doubled_derivative_stays_a_scale_factor():
    r = _check("tanh", lambda a: 2 * (1 - a**2))
    assert "fitted as a polynomial" not in r.render(), r.render()
    assert r.code == "implementation_bug"


def test_a_derivative_that_is_no_polynomial_is_not_named_as_one():
    r = _check("tanh", lambda a: (1 - a**2) * (1 + 0.3 * np.sin(5 * a)))
    assert r.code == "implementation_bug"
    assert "fitted as a polynomial" not in r.render(), r.render()


def test_a_polynomial_in_z_is_named_in_z():
    r = _check("tanh", lambda a: 1 - 0.5 * np.arctanh(np.clip(a, -0.999999, 0.999999)) ** 2)
    assert r.codes() == ["wrong_activation_derivative"], r.render()
    assert "1 - 0.5 z^2 in place of" in r.findings[0].evidence and "polynomial in z" in r.render()


def test_one_unit_backpropagated_through_its_updated_weight_is_no_derivative_slip():
    """Victor Zhou's per-weight code with w5 updated before the error goes back through it
    (review s8a): a polynomial within 0.3% of a (1 - a), fitted around that error, was named
    as the derivative, with 'use a (1 - a)' for a fix the code already has."""
    from nnparity.reference.learner import from_step

    def sig(z):
        return 1 / (1 + np.exp(-z))

    def run(stale: bool):
        r = np.random.RandomState(0)
        P = {"W1": r.normal(size=(2, 2)), "b1": r.normal(size=2), "W2": r.normal(size=(2, 1)),
             "b2": r.normal(size=1)}  # fmt: skip

        def step(X, Y):
            x, y = X[0], Y[0]
            h = sig(x @ P["W1"] + P["b1"])
            o = sig(h @ P["W2"] + P["b2"])
            d = -2 * (y - o) * o * (1 - o)
            gW2 = np.outer(h, d)
            if stale:
                P["W2"][0] -= 0.1 * gW2[0]  # w5 first
            dh = (P["W2"] @ d) * h * (1 - h)
            P["W1"] -= 0.1 * np.outer(x, dh)
            P["b1"] -= 0.1 * dh
            if not stale:
                P["W2"][0] -= 0.1 * gW2[0]
            P["W2"][1] -= 0.1 * gW2[1]
            P["b2"] -= 0.1 * d

        kw = dict(sizes=[2, 2, 1], activations="sigmoid,sigmoid", loss="mse", optimizer="sgd")
        a = from_step(P, list(P), step, **kw, lr=0.1, layout="in_out", batch_size=1)
        X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], float)
        return check(a, X, np.array([[1], [0], [0], [1]], float), steps=8, probe=False)

    assert run(False).code == "match"
    res = run(True)
    assert res.code == "implementation_bug", res.render()
    assert "wrong_activation_derivative" not in res.codes(), res.render()


def _elu_check(deriv):
    """A 3-8-2 ELU network whose backward takes ``deriv(z, a)`` as elu'(z)."""
    r = np.random.RandomState(5)
    P = [r.randn(3, 8), np.zeros(8), r.randn(8, 2) * 0.5, np.zeros(2)]
    X, Y = r.randn(24, 3), r.randn(24, 2)

    def grads(X, Y):
        z = X @ P[0] + P[1]
        a = np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1)
        d = 2 * (a @ P[2] + P[3] - Y) / Y.size
        dz = d @ P[2].T * deriv(z, a)
        return [X.T @ dz, dz.sum(0), a.T @ d, d.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[3, 8, 2], activations="elu,identity",
        loss="mse", optimizer="sgd", lr=0.1, layout="in_out",
    )  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


def test_a_slip_in_one_branch_written_in_z_is_named_in_z():
    """Review s19a: elu'(z) below 0 written z + alpha where a + alpha belongs was unexplained
    (the two-sided fit was in a alone); the right a + alpha matches."""
    assert _elu_check(lambda z, a: np.where(z > 0, 1.0, a + 1.0)).code == "match"
    r = _elu_check(lambda z, a: np.where(z > 0, 1.0, z + 1.0))
    f = r.findings[0]
    assert f.code == "wrong_activation_derivative", r.render()
    assert "1 + z for z <= 0 in place of elu'(z)" in f.evidence, r.render()


@pytest.mark.parametrize("slope", [0.01, 0.02])
def test_a_float32_branch_slip_is_said_without_round_off_terms(slope):
    """Review s19a: a float32 leaky_relu backward with slope 0.02 (0.01 forward) was named
    "0.02 + 5.33e-07 a + 1.67e-05 a^2 + ...", round-off fitted as terms."""
    f32 = np.float32
    r = np.random.RandomState(7)
    P = [r.randn(3, 8).astype(f32), np.zeros(8, f32), (r.randn(8, 2) * 0.5).astype(f32),
         np.zeros(2, f32)]  # fmt: skip
    X, Y = r.randn(32, 3).astype(f32), r.randn(32, 2).astype(f32)

    def grads(X, Y):
        z = X @ P[0] + P[1]
        a = np.where(z > 0, z, f32(0.01) * z)
        d = f32(2) * (a @ P[2] + P[3] - Y) / f32(Y.size)
        dz = d @ P[2].T * np.where(z > 0, f32(1), f32(slope))
        return [X.T @ dz, dz.sum(0), a.T @ d, d.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[3, 8, 2],
        activations="leaky_relu,identity", loss="mse", optimizer="sgd", lr=0.1, layout="in_out",
    )  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    if slope == 0.01:
        assert res.code == "match", res.render()
        return
    assert res.findings[0].code == "wrong_activation_derivative", res.render()
    assert "with 0.02 for z <= 0 in place of" in res.findings[0].evidence, res.render()
