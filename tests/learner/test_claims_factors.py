"""No claim without evidence, for scale factors: a factor is named only where it holds at
each step with that step's own N, B or M, and a divisor only where a whole count is meant."""

from __future__ import annotations

import torch

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.factors import fit


class _FixedDivisor:
    """PlantedMLP's gradient summed over the batch and divided by a fixed 4."""

    def __init__(self, divisor):
        from planted import PlantedMLP

        self.net, self.divisor = PlantedMLP(), divisor

    def grads(self, X, y):
        g = self.net.grads(X, y)
        return {k: v * len(X) / (self.divisor or len(X) / len(X)) for k, v in g.items()}


def _uneven(divisor, steps):
    from planted import DECLARED, NAMES, data

    X, y = data(n=10)
    f = _FixedDivisor(divisor)
    a = from_gradients(f.net, NAMES, f.grads, **DECLARED)
    return check(a, X, y, steps=steps, watch=steps, batch_size=4, probe=False)


def test_a_sum_over_uneven_batches_is_n_at_each_steps_own_n():
    r = _uneven(None, 3)  # batches of 4, 4, 2: the gradient is N times PyTorch's, N per step
    assert r.codes() == ["scale_factor"], r.render()
    assert "= N (N = 4, 4, 2 per step)" in r.findings[0].evidence


def test_a_mean_over_the_full_batch_on_the_short_last_batch_is_n_over_b():
    # divided by a fixed 4: right for the batches of 4, 1/2 for the last batch of 2 only; it
    # was once left unexplained (review s5): N/B is 1 on the full batches and names it
    for steps in (3, 10):
        r = _uneven(4, steps)
        assert set(r.codes()) == {"scale_factor"}, r.render()
        assert "N/B with B = 4" in r.findings[0].evidence and r.findings[0].step == 3


def test_a_factor_seen_at_one_step_after_agreement_is_not_named():
    """A gradient doubled from the third call on (a schedule, state in the learner): no
    constant factor of the code fits steps that agreed, so none is named."""
    from planted import DECLARED, NAMES, PlantedMLP, data

    net, calls = PlantedMLP(), [0]

    def grads(X, y):
        calls[0] += 1
        return {k: v * (2.0 if calls[0] > 2 else 1.0) for k, v in net.grads(X, y).items()}

    X, y = data()
    r = check(from_gradients(net, NAMES, grads, **DECLARED), X, y, steps=4, probe=False)
    assert "scale_factor" not in r.codes(), r.render()
    assert set(r.codes()) == {"unexplained_mismatch"} and r.findings[0].step > 1, r.render()
    assert "a constant factor in the code would show from step 1" in r.findings[0].evidence


def test_factor_text_lists_each_dimension_once():
    f = fit([(5 * torch.ones(4), torch.ones(4), 1e-9, 1e-9)], [(5.0, "N = H with H = 5")])
    assert f.text(5, 1) == "c = 5.0000 = N = H (N = H = 5), cos = 1.0000"


def test_with_l2_declared_a_factor_on_the_whole_step_is_named():
    from planted import DECLARED, NAMES, PlantedMLP, data

    from nnparity.reference.learner import from_step

    X, y = data()
    for bug, lr, code, text in [
        ("ascent", 0.1, "sign_flip", "c = -1.0000 = -1,"),
        (None, 0.2, "scale_factor", "c = 2.0000 = 2"),
    ]:
        net = PlantedMLP(bug, reg=0.05)
        a = from_step(
            net, NAMES, lambda X, y, n=net, lr=lr: n.step(X, y, lr=lr), **DECLARED, l2=0.05
        )
        r = check(a, X, y, steps=3, probe=False)
        assert r.codes() == [code], r.render()
        assert "unexplained_mismatch" not in r.codes()
        assert (
            text in r.findings[0].evidence and "l2 = 0.05 term included" in r.findings[0].evidence
        )
        assert len(r.findings[0].params) == 6


def test_a_divisor_is_read_only_where_a_whole_count_is_meant():
    """Review s16b: c = 80/688835397721 (a gradient 1e-10 of PyTorch's) was read as "divides
    by 688835397721": beyond ten million rows every number is within 1e-9 of a whole one."""
    from nnparity.reference.learner.scale import divisor

    assert divisor(64 / 60000, 64) == 60000
    assert divisor(80 / 688835397721, 80) is None
    assert divisor(64 / 60000.5, 64) is None


def test_half_the_summed_squared_error_under_mse_is_read_as_the_loss_first():
    """Review s16a: 1/2 SSE summed at lr 1 (Milo Spencer-Harper's net) declared mse was told
    'if your update uses lr = 3.5, declare lr=3.5' only, an lr the code does not use."""
    import numpy as np

    r = np.random.RandomState(0)
    X, y = r.randn(7, 3), r.randn(7, 1)
    P = {"W": r.randn(3, 1), "b": np.zeros(1)}

    def grads(X, y):
        d = X @ P["W"] + P["b"] - y  # of 1/2 sum (a - y)^2: no 1/N
        return {"W": X.T @ d, "b": d.sum(0)}

    a = from_gradients(P, ["W", "b"], grads, sizes=[3, 1], activations="identity", loss="mse",
                       optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    f = res.findings[0]
    assert f.code == "scale_factor" and "N/2" in f.evidence, res.render()
    assert f.hint.startswith("your gradient is of 1/2 the squared error summed"), f.hint
    assert "declare loss='half_sse' with reduction='sum'" in f.hint


def test_a_mean_on_some_layers_under_a_summed_loss_is_not_told_to_declare_the_mean():
    """Review s16a (Britz): a hidden layer's delta divided by N, the output's summed, under a
    declared 'sum': declaring 'mean' would only move the mismatch to the other layer."""
    import numpy as np

    r = np.random.RandomState(0)
    X, y = r.randn(8, 3), r.randn(8, 1)
    P = {"W1": r.randn(3, 4), "b1": np.zeros(4), "W2": r.randn(4, 1), "b2": np.zeros(1)}

    def grads(every):
        def g(X, y):
            h = np.tanh(X @ P["W1"] + P["b1"])
            d2 = 2 * (h @ P["W2"] + P["b2"] - y) / (len(X) if every else 1)
            d1 = d2 @ P["W2"].T * (1 - h**2) / (1 if every else len(X))
            return {"W1": X.T @ d1, "b1": d1.sum(0), "W2": h.T @ d2, "b2": d2.sum(0)}

        return g

    for every in (True, False):
        a = from_gradients(P, list(P), grads(every), sizes=[3, 4, 1], activations="tanh,identity",
                           loss="mse", reduction="sum", optimizer="sgd", lr=0.01)  # fmt: skip
        f = check(a, X, y, steps=2, probe=False).findings[0]
        assert f.code == "scale_factor" and "1/N" in f.evidence, f
        assert ("declare reduction='mean'" in f.hint) == every, f.hint
