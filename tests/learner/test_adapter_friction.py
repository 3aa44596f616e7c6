"""What new users stumbled on when writing an adapter: each fixed, and a mistake of the adapter
is reported as the adapter's (exit 2 with what to change), never as a bug in the code."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import LearnerError, check, from_gradients, from_layers
from nnparity.reports.cli import main

R = np.random.default_rng(0)
P = {"W1": R.normal(size=(2, 3)), "b1": np.zeros(3), "W2": R.normal(size=(3, 1)), "b2": np.zeros(1)}
X, Y = R.normal(size=(4, 2)), R.normal(size=(4, 1))
DECL = dict(sizes=[2, 3, 1], activations="tanh,identity", loss="mse", lr=0.1)


def _grads(X, y):
    a1 = np.tanh(X @ P["W1"] + P["b1"])
    d = 2 * (a1 @ P["W2"] + P["b2"] - y) / y.size
    dz1 = d @ P["W2"].T * (1 - a1**2)
    return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}


@pytest.mark.parametrize(
    "declared",
    [{"optimizer": "sgd", "momentum": 0.9}, {"optimizer": "sgd(momentum=0.9)"}],
)
def test_sgd_momentum_declared_either_way(declared):
    a = from_gradients(P, list(P), _grads, **{**DECL, **declared})
    assert str(a.conventions.spec("float64").opt) == "sgd(lr=0.1,momentum=0.9)"


def test_sgd_momentum_name_gets_a_did_you_mean():
    with pytest.raises(LearnerError, match=r"did you mean optimizer='sgd\(momentum=0.9\)'"):
        from_gradients(P, list(P), _grads, **DECL, optimizer="sgd_momentum")


class Dense:
    def __init__(self, n_in, n_out):
        self.W, self.b = R.normal(size=(n_in, n_out)), np.zeros(n_out)
        self.dW, self.db = np.zeros((n_in, n_out)), np.zeros(n_out)


def test_from_layers_error_names_the_layers_own_attributes():
    with pytest.raises(LearnerError) as e:
        from_layers([Dense(2, 3), Dense(3, 1)], lambda X, y: None, **DECL)
    assert str(e.value) == (
        "Dense has no 'weights', 'biases'; its arrays are W, b, dW, db: pass weights='W', "
        "biases='b', dweights='dW', dbiases='db' to from_layers"
    )


def test_a_parameter_still_none_gets_its_own_message():
    class Lazy:  # weights created on the first forward pass
        W = None

    a = from_gradients(Lazy(), ["W"], _grads, sizes=[2, 1], activations="identity", bias="none")
    with pytest.raises(LearnerError, match="W is None: the array does not exist yet"):
        check(a, X, Y)


def test_gradients_as_a_list_of_dw_db_pairs():
    def pairs(X, y):
        g = _grads(X, y)
        return [(g["W1"], g["b1"]), (g["b2"], g["W2"])]  # either order within a pair

    r = check(from_gradients(P, list(P), pairs, **DECL), X, Y, steps=2, probe=False)
    assert r.code == "match", r.render()


def test_names_in_the_wrong_order_are_the_adapters_mistake():
    a = from_gradients(P, ["W1", "W2", "b1", "b2"], _grads, **DECL)
    with pytest.raises(LearnerError, match=r"fit as \['W1', 'b1', 'W2', 'b2'\]"):
        check(a, X, Y)


def _symmetric(order):
    """A correct 6-3-6 network in the column style: W (out, in), b (out, 1), names in
    ``order``; in (in, out) its shapes also fit in another order (W2, b1, W1, b2)."""
    r = np.random.default_rng(1)
    Q = {"W1": r.normal(0, 0.5, (3, 6)), "b1": np.zeros((3, 1)),
         "W2": r.normal(0, 0.5, (6, 3)), "b2": np.zeros((6, 1))}  # fmt: skip

    def grads(X, y):
        a1 = np.tanh(Q["W1"] @ X.T + Q["b1"])
        d = 2 * (Q["W2"] @ a1 + Q["b2"] - y.T) / y.size
        dz1 = Q["W2"].T @ d * (1 - a1**2)
        g = {"W1": dz1 @ X, "b1": dz1.sum(1, keepdims=True), "W2": d @ a1.T}
        return [{**g, "b2": d.sum(1, keepdims=True)}[n] for n in order]

    decl = dict(sizes=[6, 3, 6], activations="tanh,identity", loss="mse", lr=0.1)
    return from_gradients(Q, order, grads, **decl), r.normal(size=(8, 6)), r.normal(size=(8, 6))


def test_names_in_order_in_the_out_in_layout_are_not_called_out_of_order():
    """Reviews s9a, s9c: the (in, out) reading of a 6-3-6 net fits as W2, b1, W1, b2, and
    a correct program was refused with 'list them in that order' (which then failed)."""
    a, X6, Y6 = _symmetric(["W1", "b1", "W2", "b2"])
    r = check(a, X6, Y6, steps=3, probe=False)
    assert r.code == "match" and "layout=out_in" in r.render(), r.render()


def test_names_out_of_order_in_every_layout_are_still_refused():
    a, X6, Y6 = _symmetric(["W1", "W2", "b1", "b2"])
    with pytest.raises(LearnerError, match="not in the canonical order"):
        check(a, X6, Y6, steps=3, probe=False)


def test_declared_sizes_that_do_not_fit_say_the_sizes_the_arrays_imply():
    Q = {"W1": R.normal(size=(3, 8)), "b1": np.zeros(8), "W2": R.normal(size=(8, 1))}
    Q["b2"] = np.zeros(1)
    a = from_gradients(Q, list(Q), _grads, **{**DECL, "sizes": [3, 5, 1]})
    with pytest.raises(LearnerError, match=r"they imply sizes=\[3, 8, 1\]"):
        check(a, np.zeros((2, 3)), np.zeros((2, 1)))


def test_adapter_mistakes_exit_2(tmp_path, capsys):
    f = tmp_path / "order.py"
    f.write_text(
        "import numpy as np\n"
        "from nnparity.reference.learner import from_gradients\n"
        "P = {'W1': np.ones((2, 3)), 'b1': np.zeros(3), 'W2': np.ones((3, 1)), 'b2': np.zeros(1)}\n"
        "def nnparity_adapter():\n"
        "    return from_gradients(P, ['W1', 'W2', 'b1', 'b2'], lambda X, y: None,\n"
        "        sizes=[2, 3, 1], activations='tanh,identity',\n"
        "        data=(np.ones((4, 2)), np.ones((4, 1))))\n"
    )
    assert main(["check", str(f)]) == 2
    assert "list them in that order" in capsys.readouterr().err


def test_a_fix_names_the_declared_activation_only():
    import catalogue as C

    r = check(C.adapter(("tanh_of_z",), "gradients", "in_out"), *C.data(), steps=2, probe=False)
    hint = r.findings[0].hint
    assert "(for tanh: 1 - a^2 with a = tanh(z))" in hint and "sigmoid" not in hint


def test_the_text_report_explains_c_and_cos_in_one_line():
    import catalogue as C

    r = check(C.adapter(("sum",), "gradients", "in_out"), *C.data(), steps=2, probe=False)
    lines = [x for x in r.render().splitlines() if x.strip().startswith("(c = ")]
    assert len(lines) == 1 and "cos = their cosine similarity" in lines[0]


def _softmax(z):
    p = np.exp(z - z.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def test_class_indices_given_as_a_column_reach_the_learner_as_a_column():
    """Review s5: labels (N, 1) with cross_entropy were refused with "use y.argmax(1)", which
    makes a column of indices all zeros; the twin takes them flat, the learner as given."""
    rng = np.random.default_rng(1)
    Q = {"W": rng.normal(size=(2, 3)), "b": np.zeros(3)}
    Xc, labels = rng.normal(size=(6, 2)), rng.integers(0, 3, size=(6, 1))
    seen = []

    def grads(X, y):
        seen.append(y.shape)
        p = _softmax(X @ Q["W"] + Q["b"])
        p[np.arange(len(y)), y.ravel()] -= 1
        return {"W": X.T @ p / len(y), "b": p.sum(0) / len(y)}

    a = from_gradients(Q, ["W", "b"], grads, sizes=[2, 3], activations="identity",
                       loss="cross_entropy", lr=0.1)  # fmt: skip
    r = check(a, Xc, labels, steps=2, probe=False)
    assert r.code == "match", r.render()
    assert (6, 1) in seen and {s[1:] for s in seen} == {(1,)}  # (and the halves: (3, 1))


@pytest.mark.parametrize("bug", [False, True])
def test_one_hot_targets_reach_the_learner_one_hot_and_the_twin_as_indices(bug):
    """Review s6: one-hot targets under cross_entropy were refused ("use y.argmax(1)"), where
    the learner's own code wants them one-hot; the twin takes their argmax."""
    rng = np.random.default_rng(1)
    Q = {"W": rng.normal(size=(2, 3)), "b": np.zeros(3)}
    Xc, Y = rng.normal(size=(6, 2)), np.eye(3)[rng.integers(0, 3, size=6)]
    seen = []

    def grads(X, y):
        seen.append(y.shape)
        p = _softmax(X @ Q["W"] + Q["b"])
        d = (p - y) / len(y) * (2.0 if bug else 1.0)
        return {"W": X.T @ d, "b": d.sum(0)}

    a = from_gradients(Q, ["W", "b"], grads, sizes=[2, 3], activations="identity",
                       loss="cross_entropy", lr=0.1)  # fmt: skip
    r = check(a, Xc, Y, steps=2, probe=False)
    assert r.code == ("implementation_bug" if bug else "match"), r.render()
    assert (6, 3) in seen and {s[1:] for s in seen} == {(3,)}  # (and the halves: (3, 3))


def _column_major(transpose: bool, fail: Exception | None = None):
    Q = {k: v.T.copy() if v.ndim == 2 else v[:, None].copy() for k, v in P.items()}

    def grads(Xc, yc):  # samples as columns, as deeplearning.ai writes it
        if fail is not None:
            raise fail
        A1 = np.tanh(Q["W1"] @ Xc + Q["b1"])
        d = 2 * (Q["W2"] @ A1 + Q["b2"] - yc) / yc.size
        dz1 = Q["W2"].T @ d * (1 - A1**2)
        return {"W1": dz1 @ Xc.T, "b1": dz1.sum(1, keepdims=True), "W2": d @ A1.T,
                "b2": d.sum(1, keepdims=True)}  # fmt: skip

    fn = (lambda X, y: grads(X.T, y.T)) if transpose else grads
    return check(from_gradients(Q, list(Q), fn, layout="out_in", **DECL), X, Y, steps=2)


def test_samples_as_columns_without_the_transpose_are_told_to_transpose():
    assert _column_major(transpose=True).code == "match"
    r = _column_major(transpose=False)
    f = r.findings[0]
    assert f.code == "learner_exception", r.render()
    assert "X of shape (4, 2) and y of shape (4, 1), one sample per row" in f.hint
    assert "lambda X, y: grads(X.T, y.T)" in f.hint


@pytest.mark.parametrize("fail", [KeyError("W3"), ValueError("learning rate must be positive")])
def test_an_error_that_is_not_about_shapes_gets_no_transpose_hint(fail):
    f = _column_major(transpose=True, fail=fail).findings[0]
    assert f.code == "learner_exception" and "transpose" not in f.hint


def test_an_unrolled_gradient_vector_is_refused_with_the_split():
    """Review s6c (Ng's ex4: nnCostFunction returns (J, grad) with grad unrolled): it was read
    as two arrays, the loss taken for W's gradient."""

    def unrolled(X, y):
        g = _grads(X, y)
        return 0.0, np.concatenate([g[k].ravel() for k in P])

    a = from_gradients(P, list(P), unrolled, **DECL)
    with pytest.raises(LearnerError, match=r"one flat vector of 13 entries for 4 parameters "
                       r"\(6 \+ 3 \+ 3 \+ 1\).*g\[0:6\]\.reshape\(2, 3\)"):  # fmt: skip
        check(a, X, Y, steps=1, probe=False)


def test_a_vector_y_that_broadcasts_in_the_learners_code_is_told_to_give_a_column():
    """Review s6c: y (N,) against an output (N, 1) made the learner's own code raise, and the
    hint suggested a transpose, which does nothing to a vector."""

    def grads(X, y):
        out = X @ P["W1"] @ P["W2"]  # (N, 1)
        d = (out - y) / len(X)  # (N, N) with a vector y
        return {"W1": X.T @ (d @ P["W2"].T), "b1": d.sum(0), "W2": d, "b2": d.sum(0)}

    a = from_gradients(P, list(P), grads, **DECL)
    f = check(a, X, Y.ravel(), steps=1, probe=False).findings[0]
    assert f.code == "learner_exception", f  # (N, N) @ (1, 3) raises in the learner's code
    assert "y is a vector because you gave one" in f.hint and "transpose" not in f.hint


def test_a_bias_column_first_under_the_default_fold_is_told_fold_first():
    """Review s6c (Ng's ex4 keeps the bias column first): the forward parted unexplained."""
    r = np.random.RandomState(0)
    T1, T2 = r.randn(3, 3), r.randn(1, 4)  # (out, 1 + in): the bias column first

    def forward(X):
        h = np.tanh(np.c_[np.ones(len(X)), X] @ T1.T)
        return np.c_[np.ones(len(X)), h] @ T2.T

    def grads(X, y):
        A0 = np.c_[np.ones(len(X)), X]
        h = np.tanh(A0 @ T1.T)
        A1 = np.c_[np.ones(len(X)), h]
        d2 = 2 * (A1 @ T2.T - y) / y.size
        d1 = (d2 @ T2[:, 1:]) * (1 - h**2)
        return [d1.T @ A0, d2.T @ A1]

    a = from_gradients([T1, T2], ["[0]", "[1]"], grads, forward=forward, sizes=[2, 3, 1],
                       activations="tanh,identity", loss="mse", bias="folded", lr=0.1,
                       layout="out_in")  # fmt: skip
    f = check(a, X, Y, steps=1, probe=False).findings[0]
    assert f.code == "unexplained_mismatch" and "declare fold='first'" in f.hint, f
    a = from_gradients([T1, T2], ["[0]", "[1]"], grads, forward=forward, sizes=[2, 3, 1],
                       activations="tanh,identity", loss="mse", bias="folded", lr=0.1,
                       layout="out_in", fold="first")  # fmt: skip
    assert check(a, X, Y, steps=2, probe=False).code == "match"


class _Lists:
    """Weights kept as Python lists (pure-Python learners), shown as arrays by properties that
    build a new array on every read (review s8a: writes into that array were lost)."""

    def __init__(self, setter: bool):
        self._p = {k: v.tolist() for k, v in P.items()}
        self._setter = setter

    def __getattr__(self, k):
        if k.startswith("_") or k not in self._p:
            raise AttributeError(k)
        return np.array(self._p[k], dtype=float)  # a fresh, writable array each time

    def __setattr__(self, k, v):
        if k.startswith("_"):
            object.__setattr__(self, k, v)
        elif not self._setter:
            raise AttributeError(f"can't set attribute {k!r}")
        else:
            self._p[k] = np.asarray(v).tolist()

    def step(self, X, y):
        P2 = {k: getattr(self, k) for k in self._p}
        g = _grads_at(P2, X, y)
        for k in self._p:
            self._p[k] = (P2[k] - 0.1 * g[k]).tolist()


def _grads_at(Q, X, y):
    a1 = np.tanh(X @ Q["W1"] + Q["b1"])
    d = 2 * (a1 @ Q["W2"] + Q["b2"] - y) / y.size
    dz1 = d @ Q["W2"].T * (1 - a1**2)
    return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ d, "b2": d.sum(0)}


def test_a_property_that_builds_a_new_array_on_each_read_is_written_through_its_setter():
    from nnparity.reference.learner import from_step

    net = _Lists(setter=True)
    r = check(from_step(net, list(P), net.step, **DECL, optimizer="sgd"), X, Y, steps=3,
              probe=False)  # fmt: skip
    assert r.code == "match", r.render()
    bad = _Lists(setter=False)
    with pytest.raises(LearnerError, match="computed on each read"):
        check(from_step(bad, list(P), bad.step, **DECL, optimizer="sgd"), X, Y, steps=3,
              probe=False)  # fmt: skip


def test_gradients_keyed_d_plus_the_parameter_s_name_are_found():
    """deeplearning.ai's grads dict: dW1, db1, ... beside dA0, dA1 (review s8a)."""

    def ng(X, y):
        return {"dA0": X, **{f"d{k}": g for k, g in _grads(X, y).items()}}

    a = from_gradients(P, list(P), ng, **DECL, optimizer="sgd")
    assert check(a, X, Y, steps=2, probe=False).code == "match"
    wrong = from_gradients(P, list(P), lambda X, y: {f"g{k}": g for k, g in _grads(X, y).items()},
                           **DECL, optimizer="sgd")  # fmt: skip
    with pytest.raises(LearnerError, match="no entry for 'W1'; their keys: gW1"):
        check(wrong, X, Y, steps=2, probe=False)


def test_items_named_from_a_list_owner_by_its_variable_name_are_told_the_item_names():
    """Review s36 7d: a list of (W, b) pairs as the owner, named 'params[0][0]' after the
    variable: "list has no 'params'" did not say to write '[0][0]'."""
    params = [[P["W1"], P["b1"]], [P["W2"], P["b2"]]]
    names = [f"params[{i}][{j}]" for i in range(2) for j in range(2)]
    a = from_gradients(params, names, lambda X, y: None, **DECL)
    with pytest.raises(LearnerError, match=r"the owner you passed is this list: name its items "
                       r"from it, '\[0\]\[0\]'"):  # fmt: skip
        check(a, X, Y, steps=1, probe=False)
