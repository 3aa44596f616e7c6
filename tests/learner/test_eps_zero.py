"""Adam and RMSprop with eps left out, or eps=0 declared beside a code's 1e-8 (review s23a F11,
F12): the fit of eps searched 1e-12 to 0.1 only, so a missing eps was read as "beta2 =
0.99898" and a declared 0 crashed (math domain error). eps = 0 is now tried below the range,
both ways named; the declared eps itself still matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(name: str, eps_code: float, eps_declared: float | None = None):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 6) * 0.6, "b1": np.zeros(6), "W2": r.randn(6, 1) * 0.6, "b2": np.zeros(1)}
    M = {k: np.zeros_like(v) for k, v in P.items()}
    S = {k: np.zeros_like(v) for k, v in P.items()}
    t = [0]

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = (h @ P["W2"] + P["b2"] - y) / len(X)
        dz = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        t[0] += 1
        for k in P:
            if name == "adam":
                M[k] = 0.9 * M[k] + 0.1 * g[k]
                S[k] = 0.999 * S[k] + 0.001 * g[k] ** 2
                mh, vh = M[k] / (1 - 0.9 ** t[0]), S[k] / (1 - 0.999 ** t[0])
                P[k] -= 0.01 * mh / (np.sqrt(vh) + eps_code)
            else:
                S[k] = 0.99 * S[k] + 0.01 * g[k] ** 2
                P[k] -= 0.01 * g[k] / (np.sqrt(S[k]) + eps_code)

    opt = name if eps_declared is None else f"{name}(eps={eps_declared})"
    decl = dict(sizes=[3, 6, 1], activations="tanh,identity", loss="half_sse", optimizer=opt)
    return from_step(P, list(P), step, lr=0.01, **decl)


def _check(a):
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    return check(a, X, np.sin(2 * X[:, :1]) * X[:, 1:2], steps=6, watch=0, probe=False)


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_eps_left_out_is_named_as_eps_zero(name):
    r = _check(_adapter(name, 0.0))
    f = r.findings[0]
    assert f.code == "optimizer_update_mismatch", r.render()
    assert "eps = 0 where 1e-08 is declared" in f.evidence and "declare eps=0" in f.hint
    assert "beta" not in f.evidence


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_eps_zero_declared_beside_the_codes_eps_is_named_not_a_crash(name):
    r = _check(_adapter(name, 1e-8, eps_declared=0))
    f = r.findings[0]
    assert "eps = 1e-08 where 0 is declared" in f.evidence, r.render()


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_the_declared_eps_matches(name):
    assert _check(_adapter(name, 1e-8)).verdict == "match"
    assert _check(_adapter(name, 0.0, eps_declared=0)).verdict == "match"
