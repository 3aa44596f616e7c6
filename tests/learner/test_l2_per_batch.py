"""deeplearning.ai's L2 with mini-batches, ``dW += lambd / m * W`` with m the batch's own rows:
on a short last batch its coefficient changes. With one coefficient declared, the short batch
is named as that per-batch penalty, never blamed on the cached input (review s8a)."""

import numpy as np
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
    f = res.findings[0]  # a per-batch objective (scikit-learn's MLP): a note (review s42a F4)
    assert res.code == "match" and f.code == "regularization_mismatch", res.render()
    assert f.kind == "note", res.render()
    assert "(0.5 / m) W with m the batch's rows (0.1 at 5 rows, 0.25 at 2 rows)" in f.evidence


def test_a_per_batch_l2_whose_full_batches_part_from_the_declared_l2_is_a_bug():
    """lambd / m with m each batch's rows, where l2 = lambd / 4 is declared at batches of 5:
    the full batches part from the declaration too."""
    from nnparity.reference.learner import check

    P, X, Y = net()

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        c = 0.5 / len(X)
        return [X.T @ dh + c * P[0], dh.sum(0), h.T @ do + c * P[2], do.sum(0)]

    res = check(adapter(P, grads, l2=0.5 / 4, batch_size=5), X, Y, steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert res.findings[0].code == "regularization_mismatch", res.render()


@pytest.mark.parametrize("layers", ["both", "first"])
def test_an_l2_term_on_some_layers_only_says_its_per_layer_declaration(layers):
    """nnfs regularises the layers it is told to (weight_regularizer_l2 per layer): with one
    layer left out, the fix must not be 'add l2 * W' alone (review s8a), and gives the
    declaration that takes it, one coefficient per layer (review s24a F1)."""
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
    assert "[0] take the L2 term and these do not" in f.hint and "declare l2=[0.1, 0]" in f.hint


@pytest.mark.parametrize("biases", [True, False])
def test_weights_only_decay_under_a_declared_weight_decay_is_said_the_right_way_round(biases):
    """weight_decay decays every parameter; a step that decays its weights only was told 'the
    penalty is applied to the biases too: leave them out' (review s8b: backwards)."""
    from tanh_net import grads_of

    from nnparity.reference.learner import check, from_step

    P, X, Y = net()
    grads = grads_of(P)

    def step(X, Y):
        for i, g in enumerate(grads(X, Y)):
            decay = 0.01 if biases or i % 2 == 0 else 0.0  # W at even places, b at odd
            P[i] -= 0.1 * (g + decay * P[i])

    a = from_step(P, [f"[{i}]" for i in range(4)], step, sizes=[4, 5, 3],
                  activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1,
                  weight_decay=0.01, layout="in_out")  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    if biases:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "regularization_mismatch" and f.params == ("[1]", "[3]"), res.render()
    assert "your biases take no weight decay, where weight_decay=0.01" in f.evidence
    assert "declare l2=0.01" in f.hint and "leave the biases out" not in f.hint


@pytest.mark.parametrize("when", ["short", "late"])
def test_the_per_batch_note_never_covers_a_bias_that_parts(when):
    """Review s47 F1: with the per-batch L2 note read at the short batch, a bias gradient off
    there (or from a later full batch on) passed as a match: the note covers the weights'
    penalty alone, and the biases' departure stays a bug."""
    from nnparity.reference.learner import check

    P, X, Y = net()
    lambd, B, calls = 0.5, 5, [0]

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        calls[0] += 1
        c = lambd / len(X)
        off = len(X) < B if when == "short" else calls[0] >= 5
        db1 = dh.sum(0) * (2.0 if off else 1.0)
        return [X.T @ dh + c * P[0], db1, h.T @ do + c * P[2], do.sum(0)]

    res = check(adapter(P, grads, l2=lambd / B, batch_size=B), X, Y, steps=8, probe=False)
    assert res.code == "implementation_bug", res.render()
    # the bias named, the weights' per-batch penalty still a note (review s48 F3: W blamed)
    bugs = [f for f in res.findings if f.kind == "bug"]
    assert all(set(f.params) <= {"[1]", "[3]"} for f in bugs), res.render()


@pytest.mark.parametrize(
    ("declared", "code"), [(0.5 / 5, "match"), (0.5 / 4, "implementation_bug")]
)
def test_a_per_batch_l2_inside_a_hidden_adam_step_is_the_same_note(declared, code):
    """Review s47 F2: scikit-learn's MLP with Adam, its step hiding the gradients: the per-batch
    L2 was unexplained where SGD's was the note; the declared l2 off on full batches is a bug."""
    from nnparity.reference.learner import check, from_step

    P, X, Y = net()
    M = [np.zeros_like(p) for p in P]
    V = [np.zeros_like(p) for p in P]
    t = [0]

    def step(Xb, Yb):
        h, do, dh = passes(P, Xb, Yb)
        c = 0.5 / len(Xb)
        g = [Xb.T @ dh + c * P[0], dh.sum(0), h.T @ do + c * P[2], do.sum(0)]
        t[0] += 1
        for i, gi in enumerate(g):
            M[i] = 0.9 * M[i] + 0.1 * gi
            V[i] = 0.999 * V[i] + 0.001 * gi**2
            mh, vh = M[i] / (1 - 0.9 ** t[0]), V[i] / (1 - 0.999 ** t[0])
            P[i] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)

    a = from_step(P, [f"[{i}]" for i in range(4)], step, sizes=[4, 5, 3],
                  activations="tanh,identity", loss="mse", optimizer="adam", lr=0.01,
                  layout="in_out", l2=declared, batch_size=5)  # fmt: skip
    res = check(a, X, Y, steps=6, probe=False)
    assert res.code == code, res.render()
