"""The pieces under the checker: parameter paths, the learner <-> canonical translation, the
null hypothesis (no bug) reproducing PyTorch's autograd, and the optimizer simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnparity.reference.learner import paths
from nnparity.reference.learner.codec import Codec
from nnparity.reference.learner.conventions import Conventions
from nnparity.reference.learner.evidence import to_tensors
from nnparity.reference.learner.hypotheses import Search, fit
from nnparity.reference.learner.optim import Sim
from nnparity.reference.learner.torch_side import Reference
from nnparity.reference.twin import Twin
from nnparity.scratch import Spec, build, make_data


class Holder:
    def __init__(self):
        self.weights = [np.zeros((2, 3)), np.ones(3)]
        self.params = {"W1": np.arange(4.0)}
        self.w = np.array([0.5, 1.5])


def test_paths_read_and_write_the_learners_own_names():
    h = Holder()
    assert paths.parse("params['W1']") == (("attr", "params"), ("item", "W1"))
    assert paths.get(h, "weights[1]")[0] == 1.0
    keep = h.weights[0]
    paths.put(h, "weights[0]", np.full((2, 3), 7.0))
    assert keep is h.weights[0] and keep[0, 0] == 7.0  # in place: the learner's alias holds
    paths.put(h, "params[W1]", np.zeros(5))  # another shape: rebound
    assert h.params["W1"].shape == (5,)
    paths.put(h, "w[1]", np.array(2.5))
    assert h.w.tolist() == [0.5, 2.5]
    assert paths.short("params['W1']") == "W1"
    with pytest.raises(paths.LearnerError, match="Holder has no 'bias'"):
        paths.get(h, "bias")


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    layout=st.sampled_from(["in_out", "out_in"]),
    fold=st.sampled_from(["last", "first"]),
    kinds=st.lists(st.sampled_from(["separate", "folded", "none"]), min_size=3, max_size=3),
    seed=st.integers(0, 100),
)
def test_learner_arrays_round_trip_through_canonical(sizes, layout, fold, kinds, seed):
    n = len(sizes) - 1
    conv = Conventions.make(sizes, ["tanh"] * n, bias=kinds[:n], layout=layout, fold=fold)
    rng = np.random.default_rng(seed)
    shapes = []
    for l, role in conv.slot_names():
        n_in = sizes[l - 1] + (role == "Wb")
        shapes.append(
            (sizes[l],)
            if role == "b"
            else (n_in, sizes[l])
            if layout == "in_out"
            else (sizes[l], n_in)
        )
    arrays = [rng.normal(size=s) for s in shapes]
    codec = Codec(conv, [f"p{i}" for i in range(len(arrays))], arrays)
    canon = codec.to_canonical(arrays)
    for l in range(1, n + 1):
        assert canon[f"W{l}"].shape == (sizes[l - 1], sizes[l])
    back = codec.from_canonical(canon)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, back, strict=True))


@pytest.mark.parametrize(
    "text",
    [
        "3-5-4-2 tanh,relu,sigmoid loss=half_sse",
        "4-6-3 elu,identity loss=cross_entropy",
        "2-4-1 leaky_relu,sigmoid loss=bce(reduction=sum)",
        "3-4-3 sigmoid,log_softmax loss=nll",
    ],
)
def test_the_null_hypothesis_reproduces_pytorch_autograd(text):
    spec = Spec.parse(text)
    P = build(spec).init_params()
    X, y = make_data(spec)
    ref = Reference(spec, set())
    rs = ref.run(P, X, y)
    twin = Twin(spec)
    twin.set_params(P)
    t = twin.step(*twin.tensors(X, y))
    for k, g in t.grads.items():  # BCE from logits agrees with BCELoss away from saturation
        np.testing.assert_allclose(rs.grads[k], g, rtol=1e-10, atol=1e-12)
    from nnparity.reference.learner.step_evidence import step_data

    class Obs:
        step, params, grads, noise, after = 1, P, rs.grads, {}, None

    data = [step_data(Obs, X, y, ref, rs, 1e-6, 1e-6)]
    acts = [(a.name, m) for a, m in zip(spec.activations, ref.acts, strict=True)]
    choices = Search(data, acts, spec.sizes, set(range(1, spec.n_layers + 1))).run()
    for ch in choices:
        assert ch.deriv.key == "true" and ch.wback in ("old", "-") and not ch.unexplained
        assert all(f.factor == "1" for f in ch.fits.values())


def test_fit_names_the_factor_and_refuses_a_lone_number():
    g = torch.tensor([1.0, -2.0, 3.0, 0.5])
    names = [(1.0, "1"), (0.1, "1/N")]
    f = fit([(0.1 * g, g, 1e-9, 1e-9)], names)
    assert f.ok and f.factor == "1/N" and f.text(10, 1) == "c = 0.1000 = 1/N (N = 10), cos = 1.0000"
    f = fit([(0.37 * g[:1], g[:1], 1e-9, 1e-9)], names)
    assert not f.ok  # one element fits any constant: not evidence


@pytest.mark.parametrize(
    "opt",
    [
        "sgd(lr=0.1,momentum=0.9,weight_decay=0.01)",
        "sgd(lr=0.1,momentum=0.9,nesterov=true)",
        "adam(lr=0.01,weight_decay=0.1)",
        "adamw(lr=0.01,amsgrad=true)",
        "rmsprop(lr=0.01,momentum=0.5,centered=true)",
        "adagrad(lr=0.1,lr_decay=0.1)",
    ],
)
def test_the_optimizer_simulator_follows_torch(opt):
    spec = Spec.parse(f"3-4-2 tanh,identity opt={opt}")
    net = build(spec)
    P = net.init_params()
    X, y = make_data(spec)
    twin = Twin(spec)
    twin.set_params(P)
    Xt, yt = twin.tensors(X, y)
    sim = Sim(spec.opt.name, dict(spec.opt.kwargs))
    for _ in range(4):
        before = twin.get_params()
        t = twin.step(Xt, yt)
        pred = sim.step(to_tensors(before), to_tensors(t.grads))
        for k, v in pred.items():
            np.testing.assert_allclose(v.numpy(), t.params[k], rtol=1e-12, atol=1e-14)
