"""A function given to an adapter that cannot take the arguments the check calls it with
(``grads=lambda X: ...``) is a misused adapter: no verdict (exit 2), the call named; a
TypeError raised inside the learner's own code stays its own finding (review s24c F6: the
one-argument lambda was a learner_exception, exit 1, graded as a bug)."""

from __future__ import annotations

import numpy as np
import pytest
from test_isolation import FAST, no_verdict

from nnparity.reference.learner import LearnerError, check, from_gradients
from nnparity.reference.learner.crash import binds
from nnparity.reports.cli import main

SRC = """
import numpy as np
r = np.random.RandomState(0)
P = {{"W1": r.randn(2, 3), "b1": np.zeros(3), "W2": r.randn(3, 1), "b2": np.zeros(1)}}
X = r.randn(8, 2); y = X[:, :1] - X[:, 1:]
def grads(X, y):
    h = np.tanh(X @ P["W1"] + P["b1"]); d = 2 * (h @ P["W2"] + P["b2"] - y) / len(X)
    dh = d @ P["W2"].T * (1 - h ** 2)
    {inside}
    return {{"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}}
def nnparity_adapter():
    from nnparity import from_gradients
    return from_gradients(P, ["W1", "b1", "W2", "b2"], {fn}, sizes=[2, 3, 1],
        activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1, data=(X, y))
"""


def _file(tmp_path, fn="grads", inside="pass"):
    f = tmp_path / "student.py"
    f.write_text(SRC.format(fn=fn, inside=inside))
    return f


def test_a_function_of_one_argument_where_two_are_passed_is_no_verdict(tmp_path, capsys):
    rc = main(["check", str(_file(tmp_path, fn="lambda X: grads(X, y)")), *FAST])
    err = no_verdict(capsys, rc)
    assert "your grads function cannot be called as grads(X, y)" in err
    assert "grads=lambda X, y: ..." in err


def test_a_type_error_inside_the_learners_code_is_its_finding(tmp_path, capsys):
    rc = main(["check", str(_file(tmp_path, inside="len(5)")), *FAST])
    out = capsys.readouterr().out
    assert rc == 1 and "learner_exception" in out and "TypeError" in out


def test_in_process_the_same_is_a_learner_error():
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 3), "b1": np.zeros(3), "W2": r.randn(3, 1), "b2": np.zeros(1)}
    X = r.randn(8, 2)
    a = from_gradients(P, ["W1", "b1", "W2", "b2"], lambda X: None, sizes=[2, 3, 1],
                       activations="tanh,identity", loss="mse", lr=0.1)  # fmt: skip
    with pytest.raises(LearnerError, match=r"cannot be called as grads\(X, y\)"):
        check(a, X, X[:, :1], steps=1, probe=False)


@pytest.mark.parametrize(
    ("fn", "n", "takes"),
    [(lambda X, y: 0, 2, True), (lambda X: 0, 2, False), (lambda *a: 0, 2, True), (len, 1, True)],
)
def test_binds_reads_the_signature(fn, n, takes):
    assert binds(fn, n) is takes


def test_a_decorated_function_is_read_by_its_own_signature(tmp_path, capsys):
    """A functools.wraps decorator's wrapper takes (*args): a TypeError inside the learner's
    code under it is the learner's, never "cannot be called" read off the wrapped function's
    signature (review s24d F3)."""
    src = SRC.format(fn="cached(grads)", inside="len(5)").replace(
        "def nnparity_adapter():",
        "import functools\n"
        "def cached(f):\n"
        "    @functools.wraps(f)\n"
        "    def wrapper(*args):\n"
        "        return f(*args)\n"
        "    return wrapper\n"
        "def nnparity_adapter():",
    )
    f = tmp_path / "student.py"
    f.write_text(src)
    rc = main(["check", str(f), *FAST])
    out = capsys.readouterr().out
    assert rc == 1 and "learner_exception" in out, out
