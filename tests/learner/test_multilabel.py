"""Multi-label outputs: bce and bce_with_logits take any number of sigmoid outputs, each an
independent yes/no, averaged over all N*D entries (PyTorch's BCELoss, Keras's
binary_crossentropy). Tested both ways: the engine and the learner check pass a correct
multi-label network and catch one whose loss averages over the N samples only (c = D)."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.engine import run_parity
from nnparity.reference.learner import from_gradients
from nnparity.scratch import Spec, build

SPECS = ["3-5-4 tanh,sigmoid loss=bce", "3-5-4 tanh,identity loss=bce_with_logits"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("text", SPECS)
def test_a_multilabel_spec_matches_pytorch(text, dtype):
    spec = Spec.parse(f"{text} opt=sgd(lr=0.5) dtype={dtype}")
    assert spec.out_units == 4
    assert run_parity(spec, 4, "free").passed


@pytest.mark.parametrize(
    "text",
    [*SPECS, "3-5-4 tanh,identity loss=mse", "3-5-4 tanh,identity loss=huber(delta=0.5)"],
)
@pytest.mark.parametrize("reduction", ["sum", "batch"])
def test_each_reduction_matches_pytorch_and_jax(text, reduction):
    """'batch' (summed over each sample's outputs, averaged over the samples) in all three."""
    name = text.split("loss=")[1].split("(")[0]
    args = text.split("loss=")[1][len(name) :].strip("()")
    args = f"{args},reduction={reduction}" if args else f"reduction={reduction}"
    spec = Spec.parse(f"{text.split(' loss=')[0]} loss={name}({args}) opt=sgd(lr=0.1)")
    assert run_parity(spec, 3, "free").passed
    pytest.importorskip("jax", reason="jax is not installed (pip install nnparity[jax])")
    assert run_parity(spec, 3, "free", against="jax").passed


@pytest.mark.parametrize("text", SPECS)
def test_a_multilabel_loss_averaged_over_the_samples_only_is_caught(text):
    spec = Spec.parse(f"{text} opt=sgd(lr=0.5)")
    net = build(spec)
    per_sample = net.loss_fn._replace(grad=lambda a, y: net.loss_fn.grad(a, y) * a.shape[1])
    result = run_parity(spec, 3, "free", net=net._replace(loss_fn=per_sample))
    assert not result.passed
    assert (result.first_failure.step, result.first_failure.stage) == (1, "grad")


def _learner(divide_by_size: bool):
    r = np.random.RandomState(0)
    P = [r.randn(4, 5) * 0.5, np.zeros(5), r.randn(5, 3) * 0.5, np.zeros(3)]
    X = r.randn(12, 4)
    Y = (r.rand(12, 3) > 0.5).astype(float)

    def grads(X, Y):
        W1, b1, W2, b2 = P
        h = np.tanh(X @ W1 + b1)
        o = 1 / (1 + np.exp(-(h @ W2 + b2)))
        do = (o - Y) / (o.size if divide_by_size else len(o))
        dh = do @ W2.T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[4, 5, 3], activations="tanh,sigmoid",
        loss="bce", optimizer="sgd", lr=0.5, layout="in_out",
    )  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


def test_a_correct_multilabel_learner_matches():
    r = _learner(divide_by_size=True)
    assert r.code == "match", r.render()


def test_a_multilabel_learner_dividing_by_len_is_told_to_divide_by_the_size():
    r = _learner(divide_by_size=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "scale_factor" and "c = 3.0000 = D" in f.evidence, r.render()
    assert "divide by Y.size (N*D), not len(Y)" in f.hint
