"""deeplearning.ai's L2 with mini-batches, ``dW += lambd / m * W`` with m the batch's own rows:
on a short last batch its coefficient changes. With one coefficient declared, the short batch
is named as that per-batch penalty, never blamed on the cached input (review s8a)."""

import pytest
from tanh_net import adapter, net, passes


@pytest.mark.parametrize("per_batch", [False, True])
def test_an_l2_divided_by_the_batch_s_rows_is_named(per_batch):
    from nnparity.reference.learner import check

    P, X, Y = net()
    lambd, B = 0.5, 5

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        c = lambd / (len(X) if per_batch else B)
        return [X.T @ dh + c * P[0], dh.sum(0), h.T @ do + c * P[2], do.sum(0)]

    res = check(adapter(P, grads, l2=lambd / B, batch_size=B), X, Y, steps=4, probe=False)
    if not per_batch:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "regularization_mismatch", res.render()
    assert "(0.5 / m) W with m the batch's rows (0.1 at 5 rows, 0.25 at 2 rows)" in f.evidence


@pytest.mark.parametrize("layers", ["both", "first"])
def test_an_l2_term_on_some_layers_only_says_it_cannot_be_declared(layers):
    """nnfs regularises the layers it is told to (weight_regularizer_l2 per layer): with one
    layer left out, the fix must not be 'add l2 * W' (review s8a)."""
    from nnparity.reference.learner import check

    P, X, Y = net()

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        c2 = 0.1 if layers == "both" else 0.0
        return [X.T @ dh + 0.1 * P[0], dh.sum(0), h.T @ do + c2 * P[2], do.sum(0)]

    res = check(adapter(P, grads, l2=0.1), X, Y, steps=3, probe=False)
    if layers == "both":
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "regularization_mismatch" and f.params == ("[2]",), res.render()
    assert "[0] take the L2 term and these do not" in f.hint and "cannot be declared" in f.hint
