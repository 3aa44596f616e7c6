"""What the adapter takes and what it refuses, with the fix (reviews s9a, s9c, s9d): data
as one array, a loss beside the gradients in either order or as a (1, 1) array, pandas data,
a parameterless layer, per_sample on a layered spec, a column y handed to vector code."""

from __future__ import annotations

import numpy as np
import pytest
from test_adapter_friction import DECL, P, X, Y, _grads

from nnparity.reference.learner import LearnerError, check, from_gradients, from_layers


@pytest.mark.parametrize("rows", [4, 2])
def test_data_given_as_one_array_is_refused_not_unpacked(rows):
    """Review s9c: data=X crashed in nnparity (exit 3), and an X of two rows was read as
    (X, y) = (row 0, row 1)."""
    with pytest.raises(LearnerError, match=r"data= takes a pair \(X, y\).*data=\(X, X\)"):
        from_gradients(P, list(P), _grads, data=X[:rows], **DECL)
    a = from_gradients(P, list(P), _grads, data=(X, Y), **DECL)
    assert check(a, steps=2, probe=False).code == "match"


def _with_loss(form):
    def grads(X, y):
        g = _grads(X, y)
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        loss = float(np.mean((a1 @ P["W2"] + P["b2"] - y) ** 2))
        if form == "1x1":  # deeplearning.ai's cost, np.dot(...) / m, a (1, 1) array
            return np.array([[loss]]), g
        if form == "after":
            return g, loss
        return np.full(3, loss), g  # a loss per output

    return from_gradients(P, list(P), grads, **DECL)


@pytest.mark.parametrize("form", ["1x1", "after"])
def test_a_loss_of_one_element_or_after_the_gradients_is_read(form):
    """Review s9c: both were 'the gradients should be a dict ... got 2' (exit 2)."""
    r = check(_with_loss(form), X, Y, steps=2, probe=False)
    assert r.code == "match", r.render()
    assert not [f for f in r.findings if f.code == "loss_value_mismatch"], r.render()


def test_a_loss_of_several_numbers_is_refused_with_its_shape():
    with pytest.raises(LearnerError, match=r"a loss of shape \(3,\) beside the gradients"):
        check(_with_loss("vector"), X, Y, steps=2, probe=False)


def test_pandas_data_is_read_as_its_values():
    """Review s9c: data=(df[features], df['price']) was exit 3 from the sandbox's encoder."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b"]).assign(t=Y[:, 0])
    a = from_gradients(P, list(P), _grads, data=(df[["a", "b"]], df[["t"]]), **DECL)
    assert isinstance(a.data[0], np.ndarray) and check(a, steps=2, probe=False).code == "match"


def test_a_parameterless_layer_given_to_from_layers_is_named_as_such():
    """Review s9a: a Keras-like model.layers with ReLU objects got "ReLU has no 'W', 'b'"."""

    class ReLU:
        def forward(self, x):
            self.mask = x > 0
            return x * self.mask

    class Dense:
        def __init__(self):
            self.W, self.b = np.ones((2, 3)), np.zeros(3)

    with pytest.raises(LearnerError, match="ReLU holds no weights: pass from_layers only"):
        names = dict(weights="W", biases="b", dweights="dW", dbiases="db")
        from_layers([Dense(), ReLU()], lambda X, y: None, sizes=[2, 3, 1],
                    activations="relu,identity", **names)  # fmt: skip


def test_per_sample_on_a_layered_spec_points_to_batch_size_one():
    with pytest.raises(LearnerError, match="declare batch_size=1 instead of per_sample=True"):
        from_gradients({"W1": np.zeros((2, 1, 3, 3))}, ["W1"], _grads, per_sample=True,
                       spec="1x4x4 conv(2,k=3) flatten dense(1) loss=mse")  # fmt: skip


def test_a_vector_code_given_a_column_y_is_told_to_ravel_it():
    """Review s9c: 1-D output code handed y (N, 1) raised in (N,) - (N, 1); the advice was to
    transpose, which would still fail."""

    def grads(X, y):
        a = np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"][:, 0] + P["b2"][0]
        d = 2 * (a - y) / len(y)  # (N,) - (N, 1) is (N, N)
        return {"W1": np.zeros((2, 3)), "b1": np.zeros(3), "W2": np.zeros((3, 1)),
                "b2": np.zeros(1)} if d.shape == (len(y),) else d @ np.ones((3, 3))  # fmt: skip

    r = check(from_gradients(P, list(P), grads, **DECL), X, Y, steps=1, probe=False)
    assert "y is a column because you gave one" in r.findings[0].hint, r.render()
    assert "y.ravel()" in r.findings[0].hint


def test_two_gradients_as_a_list_and_a_float_are_not_read_as_grads_and_loss():
    """Review s9d: (dW.tolist(), float(db)) of a logistic regression was read as (gradients,
    loss) once that order was accepted: only a dict of gradients comes before a loss."""
    r = np.random.default_rng(9)
    Q = {"w": r.normal(size=(2, 1)), "b": np.zeros(1)}
    Xq, yq = r.normal(size=(12, 2)), (r.random((12, 1)) < 0.5).astype(float)

    def grads(X, y):
        a = 1 / (1 + np.exp(-(X @ Q["w"] + Q["b"])))
        d = (a - y) / len(y)
        return (X.T @ d).tolist(), float(d.sum())

    a = from_gradients(Q, ["w", "b"], grads, sizes=[2, 1], activations="sigmoid", loss="bce",
                       lr=0.1)  # fmt: skip
    assert check(a, Xq, yq, steps=2, probe=False).code == "match"


def test_text_labels_in_data_are_refused_where_the_adapter_is_built():
    """Review s10d: they crossed from the learner's process as an opaque handle."""
    with pytest.raises(LearnerError, match="not numbers .such as 'a'."):
        from_gradients(P, list(P), _grads, **DECL, data=(X, np.array(["a"] * len(X))))


def test_gradients_yielded_by_a_generator_are_read_in_order():
    """Review s10d: a generator of gradients was refused ('got generator')."""
    a = from_gradients(P, list(P), lambda X, y: (g for g in _grads(X, y).values()), **DECL)
    assert check(a, X, Y, steps=2, probe=False).code == "match"


def test_one_name_per_layer_without_bias_declared_is_told_bias_none():
    """Review s10d: the message listed W1, b1, W2, b2 and never said bias='none'."""
    Q = {"W1": P["W1"], "W2": P["W2"]}
    with pytest.raises(LearnerError, match="declared bias='none'"):
        check(from_gradients(Q, ["W1", "W2"], _grads, **DECL), X, Y, steps=1, probe=False)


def test_gradients_nested_like_the_parameters_are_read():
    """Review s10d: {"layer1": {"W": dW1, "b": db1}, ...} for a dict of dicts was refused
    ('no entry for layer1['W']'), though the parameters are read by those paths."""
    net = {"l1": {"W": P["W1"], "b": P["b1"]}, "l2": {"W": P["W2"], "b": P["b2"]}}

    def grads(X, y):
        g = _grads(X, y)
        return {"l1": {"W": g["W1"], "b": g["b1"]}, "l2": {"W": g["W2"], "b": g["b2"]}}

    names = ["l1['W']", "l1['b']", "l2['W']", "l2['b']"]
    a = from_gradients(net, names, grads, **DECL)
    assert check(a, X, Y, steps=2, probe=False).code == "match"


@pytest.mark.parametrize("bias_first", [True, False])
def test_per_layer_pairs_whose_first_shapes_do_not_tell_take_the_order_of_the_rest(bias_first):
    """Review s16b: with one input, W1 (1, 10) and b1 (10,) squeeze alike, so layer 1's
    (db, dW) pair was read as (dW, db) while layer 2's was read rightly: a false alarm."""
    r = np.random.default_rng(0)
    p = {"W1": r.normal(size=(1, 10)), "b1": r.normal(size=10), "W2": r.normal(size=(10, 1))}
    p["b2"] = r.normal(size=1)
    Xs = np.linspace(-2, 2, 16)[:, None]
    Ys = np.sin(Xs)

    def pairs(X, y):
        h = np.tanh(X @ p["W1"] + p["b1"])
        d2 = 2 * (h @ p["W2"] + p["b2"] - y) / len(X)
        d1 = d2 @ p["W2"].T * (1 - h**2)
        out = [(X.T @ d1, d1.sum(0)), (h.T @ d2, d2.sum(0))]
        return [pair[::-1] for pair in out] if bias_first else out

    a = from_gradients(p, list(p), pairs, sizes=[1, 10, 1], activations="tanh,identity")
    assert check(a, Xs, Ys, steps=2, probe=False).code == "match"


def test_nielsens_lists_of_a_one_input_two_layer_net_are_not_read_as_pairs():
    """Review s16b: Network([1, 3, 3]): nabla_b = [nb1, nb2] (3, 1) each and nabla_w = [nw1
    (3, 1), nw2 (3, 3)] also read as per-layer pairs (layer 1's ambiguous, layer 2's (db,
    dW)), so W1 took nb2 and b2 took nw1: a false alarm on Nielsen's network.py."""
    r = np.random.default_rng(1)
    net = {"weights": [r.normal(size=(3, 1)), r.normal(size=(3, 3))]}
    net["biases"] = [r.normal(size=(3, 1)), r.normal(size=(3, 1))]

    def sig(z):
        return 1 / (1 + np.exp(-z))

    def backprop(x, y):  # one column sample, Nielsen's order: (nabla_b, nabla_w)
        a1 = sig(net["weights"][0] @ x + net["biases"][0])
        a2 = sig(net["weights"][1] @ a1 + net["biases"][1])
        d2 = (a2 - y) * a2 * (1 - a2)
        d1 = net["weights"][1].T @ d2 * a1 * (1 - a1)
        return [d1, d2], [d1 @ x.T, d2 @ a1.T]

    names = ["weights[0]", "biases[0]", "weights[1]", "biases[1]"]
    a = from_gradients(
        net, names, lambda x, y: backprop(x.T, y.T), per_sample=True, sizes=[1, 3, 3],
        activations="sigmoid,sigmoid", loss="half_sse", optimizer="sgd", lr=1.0,
    )  # fmt: skip
    Xs = np.linspace(0, 1, 8)[:, None]
    Ys = np.eye(3)[np.arange(8) % 3]
    assert check(a, Xs, Ys, steps=2, probe=False).code == "match"


def test_two_parameters_as_lists_of_numbers_are_one_gradient_each():
    """Review s16b: pure-Python logistic regression, ``weights`` a list of 3 floats and
    ``bias`` a list of one, ``gradient`` returning (dw, db) as two lists: refused as
    Nielsen's (nabla_b, nabla_w) "need 1 entries each"."""
    model = {"weights": [0.1, -0.2, 0.3], "bias": [0.0]}

    def gradient(X, y):
        z = np.array(X) @ np.array(model["weights"]) + model["bias"][0]
        d = (1 / (1 + np.exp(-z)) - np.array(y)) / len(X)
        return (np.array(X).T @ d).tolist(), [float(d.sum())]

    a = from_gradients(
        model, ["weights", "bias"], lambda X, y: gradient(X.tolist(), y.tolist()),
        sizes=[3, 1], activations="sigmoid", loss="bce", optimizer="sgd", lr=0.5,
    )  # fmt: skip
    Xs = np.random.default_rng(2).normal(size=(12, 3))
    assert check(a, Xs, (Xs[:, 0] > 0).astype(float), steps=2, probe=False).code == "match"


@pytest.mark.parametrize("form", ["python_int_bias", "longdouble"])
def test_a_python_int_bias_and_longdouble_weights_are_checked(form):
    """Review s16a: deeplearning.ai's ``b = 0`` (an int the update rebinds to a float) was
    refused as an integer array; review s16b: np.longdouble weights crashed (KeyError
    'float128')."""
    dt = np.longdouble if form == "longdouble" else np.float64
    m = {"w": np.full((3, 1), 0.1, dtype=dt), "b": 0 if form == "python_int_bias" else dt(0)}

    def propagate(X, Y):
        A = 1 / (1 + np.exp(-(X @ m["w"] + m["b"])))
        dZ = (A - Y[:, None]) / len(X)
        return {"w": X.T @ dZ, "b": float(np.sum(dZ))}

    a = from_gradients(
        m, ["w", "b"], propagate, sizes=[3, 1], activations="sigmoid", loss="bce",
        optimizer="sgd", lr=0.5,
    )  # fmt: skip
    Xs = np.random.default_rng(3).normal(size=(10, 3))
    assert check(a, Xs, (Xs[:, 1] > 0).astype(float), steps=3, probe=False).code == "match"


def test_a_list_of_gradient_arrays_then_the_cost_is_read():
    """Review s16b: ``return grads, cost`` with grads a list of the four arrays was refused
    ("got 2"); (dW.tolist(), float(db)) stays two gradients."""

    def grads_then_cost(X, y):
        g = _grads(X, y)
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        return [g[k] for k in P], float(np.mean((a1 @ P["W2"] + P["b2"] - y) ** 2))

    a = from_gradients(P, list(P), grads_then_cost, **DECL)
    r = check(a, X, Y, steps=2, probe=False)
    assert r.code == "match" and not r.findings, r.render()


@pytest.mark.parametrize(
    "order, bug",
    [(("b1", "W1", "b2", "W2"), None), (("W2", "b2", "W1", "b1"), None),
     (("W2", "b2", "W1", "b1"), "double"), (("b1", "W1", "b2", "W2"), "transpose")],
)  # fmt: skip
def test_a_list_of_gradients_in_another_order_is_read_by_their_shapes(order, bug):
    """Review s16a: Real Python's ``(derror_dbias, derror_dweights)`` was `wrong_shape`; a
    list from backprop's own order (last layer first) likewise. Shapes that tell no order, or
    fit no parameter, are read as given: a doubled or transposed gradient is still found."""

    def grads(X, y):
        g = _grads(X, y)
        g["W1"] = {"double": 2 * g["W1"], "transpose": g["W1"].T}.get(bug, g["W1"])
        return [g[k] for k in order]

    r = check(from_gradients(P, list(P), grads, **DECL), X, Y, steps=2, probe=False)
    if bug is None:
        assert r.code == "match" and not r.findings, r.render()
    else:
        assert r.code == "implementation_bug" and r.findings[0].params[0] == "W1", r.render()
        assert (r.findings[0].code == "wrong_shape") == (bug == "transpose"), r.render()


def test_untied_conv_biases_and_a_lone_bias_free_layer_are_said_undeclarable():
    """Review s32 F8, F9: The Independent Code's one bias per output position, and Victor
    Zhou's bias-free conv before a dense with a bias, met a bare shape or count error."""
    P = {"k": np.zeros((2, 1, 3, 3)), "b": np.zeros((2, 2, 2)), "W": np.zeros((8, 1)),
         "c": np.zeros(1)}  # fmt: skip
    X = np.zeros((3, 1, 4, 4))
    a = from_gradients(P, list(P), lambda X, y: dict(P),
                       spec="1x4x4 conv(2,k=3) flatten dense(1) loss=mse")  # fmt: skip
    with pytest.raises(LearnerError, match=r"has shape \(2, 2, 2\); the spec gives b1 the shape "
                       r"\(2,\): one bias per output position \(untied\)"):  # fmt: skip
        check(a, X, np.zeros((3, 1)), steps=1)
    a = from_gradients(P, ["k", "W", "c"], lambda X, y: dict(P),
                       spec="1x4x4 conv(2,k=3) flatten dense(1) bias=false loss=mse")  # fmt: skip
    with pytest.raises(LearnerError, match="one layer without a bias beside others with one "
                       "cannot be declared yet"):  # fmt: skip
        check(a, X, np.zeros((3, 1)), steps=1)
    a = from_gradients(P, ["k", "W", "c"], lambda X, y: dict(P),
                       spec="1x4x4 conv(2,k=3) flatten dense(1) loss=mse")  # fmt: skip
    with pytest.raises(LearnerError, match=r"if a layer of yours has no bias \(a conv without "
                       r"one\), that cannot be declared"):  # fmt: skip
        check(a, X, np.zeros((3, 1)), steps=1)
    with pytest.raises(Exception, match="one layer without a bias beside others"):
        from_gradients(P, ["k", "W", "c"], lambda X, y: dict(P),
                       spec="1x4x4 conv(2,k=3,bias=false) flatten dense(1) loss=mse")  # fmt: skip


def test_from_layers_reads_paths_below_each_layer():
    """Review s59c F4: numpy-ml's layers keep their arrays in dicts, parameters['W'] and
    gradients['W']; from_layers said "FullyConnected holds no weights"."""
    r = np.random.default_rng(5)

    class FullyConnected:
        def __init__(self, n_in, n_out):
            self.parameters = {"W": r.normal(0, 0.5, (n_in, n_out)), "b": np.zeros(n_out)}
            self.gradients = {}

    l1, l2 = FullyConnected(2, 4), FullyConnected(4, 1)

    def backward(X, y):
        h = np.tanh(X @ l1.parameters["W"] + l1.parameters["b"])
        d = (h @ l2.parameters["W"] + l2.parameters["b"] - y) * 2 / y.size
        l2.gradients = {"W": h.T @ d, "b": d.sum(0)}
        dh = d @ l2.parameters["W"].T * (1 - h**2)
        l1.gradients = {"W": X.T @ dh, "b": dh.sum(0)}

    a = from_layers([l1, l2], backward, weights="parameters['W']", biases="parameters['b']",
                    dweights="gradients['W']", dbiases="gradients['b']", sizes=[2, 4, 1],
                    activations="tanh,identity", loss="mse", lr=0.1)  # fmt: skip
    assert check(a, X, Y, steps=3, probe=False).code == "match"
    with pytest.raises(LearnerError, match="FullyConnected has no \"parameters\\['V'\\]\""):
        from_layers([l1, l2], backward, weights="parameters['V']", sizes=[2, 4, 1],
                    activations="tanh,identity")  # fmt: skip
