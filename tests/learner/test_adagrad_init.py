"""Adagrad's accumulator started at another value than declared (Keras's and TensorFlow's
0.1 beside PyTorch's 0) is fitted and named with the declaration that takes it (review s19a:
"no known adagrad variant reproduces them"). Tested both ways."""

from __future__ import annotations

import numpy as np
import pytest
from optim_learners import NAMES, Learner, X, Y

from nnparity.reference.learner import check, from_gradients


def _adapter(start: float, optimizer: str = "adagrad"):
    net = Learner("adam")  # its network and gradients; the update below is Adagrad's
    S = {k: np.full_like(v, start) for k, v in net.P.items()}

    def update(g):
        for k, p in net.P.items():
            S[k] += g[k] ** 2
            p -= 0.1 * g[k] / (np.sqrt(S[k]) + 1e-10)

    return from_gradients(net.P, NAMES, net.shown, step=lambda X, y: update(net.last),
                          sizes=[3, 6, 1], activations="tanh,identity", loss="mse",
                          optimizer=optimizer, lr=0.1)  # fmt: skip


@pytest.mark.parametrize("start", [0.0, 0.1])
def test_an_accumulator_started_elsewhere_is_named_with_its_declaration(start):
    r = check(_adapter(start), X, Y, steps=4, probe=False)
    if not start:
        assert r.code == "match", r.render()
        return
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    assert "S starting at 0.1 where 0 is declared" in r.findings[0].evidence, r.render()
    assert "declare initial_accumulator_value=0.1" in r.findings[0].hint
    declared = _adapter(start, "adagrad(initial_accumulator_value=0.1)")
    again = check(declared, X, Y, steps=4, probe=False)
    assert again.code == "match", again.render()
