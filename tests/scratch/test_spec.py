"""Spec: the one-line text form parses back exactly (hypothesis over the registries), the
issue's example parses as written, key order is free and absent keys take their defaults."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnparity.scratch import (
    Choice,
    Spec,
    SpecError,
    activations,
    build,
    initializers,
    losses,
    optimizers,
)
from nnparity.scratch.spec import choice

EXAMPLE = (
    "3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9) init=xavier_uniform "
    "dtype=float64 seed=0"
)
# Values a word-valued hyperparameter may take (others keep their default).
WORDS = {
    "approximate": ["none", "tanh"],
    "reduction": ["mean", "sum", "batch"],
    "mode": ["fan_in", "fan_out"],
    "nonlinearity": ["linear", "sigmoid", "tanh", "relu", "selu", "leaky_relu"],
}
NUMBERS = st.one_of(
    st.floats(0, 1, exclude_max=True),
    st.floats(-10, 10),
    st.floats(1e-12, 1e6),
    st.integers(0, 5),
    st.sampled_from([0.0, -0.0, 1e-3, 0.5, 2.0, 1e-8, 123456.789]),
)


@st.composite
def choices(draw, registry, names=None):
    """A valid Choice: random hyperparameters, kept greedily while the variant still builds."""
    name = draw(st.sampled_from(names or registry.names()))
    raw = {}
    for key, default in registry[name].defaults.items():
        if not draw(st.booleans()):
            continue
        if isinstance(default, bool):
            raw[key] = draw(st.booleans())
        elif isinstance(default, (int, float)):
            raw[key] = draw(NUMBERS)
        elif key in WORDS:
            raw[key] = draw(st.sampled_from(WORDS[key]))
    kept = {}
    for key, value in raw.items():
        try:
            choice(registry, Choice(name), **kept, **{key: value})
        except SpecError:
            continue
        kept[key] = value
    return choice(registry, Choice(name), **kept)


@st.composite
def specs(draw):
    loss = draw(choices(losses))
    fn = losses[loss.name].build(loss.kwargs)
    n_layers = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 64), min_size=n_layers + 1, max_size=n_layers + 1))
    sizes[-1] = max(sizes[-1], fn.min_units)
    acts = [draw(choices(activations)) for _ in range(n_layers - 1)]
    acts.append(Choice(fn.expects) if fn.expects else draw(choices(activations)))
    rowwise = activations.names("output")  # over one unit a constant: refused (its own test)
    sizes[1:] = [
        max(w, 2) if a.name in rowwise else w for w, a in zip(sizes[1:], acts, strict=True)
    ]
    return Spec(
        sizes=tuple(sizes),
        activations=tuple(acts),
        bias=draw(st.booleans()),
        init=draw(choices(initializers)),
        bias_init=draw(choices(initializers)),
        loss=loss,
        opt=draw(choices(optimizers)),
        dtype=draw(st.sampled_from(["float32", "float64"])),
        seed=draw(st.integers(0, 2**64)),
        batch=draw(st.integers(1, 4096)),
    )


@settings(max_examples=300, deadline=None)
@given(specs())
def test_text_round_trip(spec):
    text = str(spec)
    back = Spec.parse(text)
    assert back == spec
    assert hash(back) == hash(spec)
    assert str(back) == text
    assert "\n" not in text


@settings(max_examples=100, deadline=None)
@given(specs(), st.randoms(use_true_random=False))
def test_key_order_is_free(spec, random):
    tokens = str(spec).split(" ")  # no spaces inside the printed form
    head, keys = tokens[:2], tokens[2:]
    random.shuffle(keys)
    assert Spec.parse("  ".join([*head, *keys])) == spec


def test_the_issue_example_parses_as_written():
    spec = Spec.parse(EXAMPLE)
    assert spec.sizes == (3, 4, 1)
    assert spec.activations == (Choice("tanh"), Choice("sigmoid"))
    assert spec.loss == Choice("bce")
    assert spec.opt == Choice("sgd", (("lr", 0.1), ("momentum", 0.9)))
    assert spec.init == Choice("xavier_uniform")
    assert (spec.dtype, spec.seed) == ("float64", 0)
    assert spec.n_layers == 2
    assert str(spec) == (
        "3-4-1 tanh,sigmoid bias=true init=xavier_uniform bias_init=torch_default loss=bce "
        "opt=sgd(lr=0.1,momentum=0.9) dtype=float64 seed=0 batch=8"
    )


def test_defaults_when_absent():
    spec = Spec.parse("3-4-1 tanh,identity")
    defaults = {
        f.name: f.default
        for f in dataclasses.fields(Spec)
        if f.name not in ("sizes", "activations")
    }
    assert {k: getattr(spec, k) for k in defaults} == defaults
    assert (spec.loss, spec.opt, spec.init) == (
        Choice("mse"),
        Choice("sgd"),
        Choice("torch_default"),
    )
    assert (spec.bias, spec.dtype, spec.seed, spec.batch) == (True, "float64", 0, 8)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("opt=sgd(momentum=0)", "opt=sgd"),
        ("opt=sgd(lr=0.001)", "opt=sgd"),
        ("opt=sgd(lr=1)", "opt=sgd(lr=1.0)"),
        ("opt=adam(amsgrad=false)", "opt=adam"),
        ("opt=adam(amsgrad=True)", "opt=adam(amsgrad=true)"),
        ("opt=sgd(lr=0.1, momentum=0.9)", "opt=sgd(momentum=0.9,lr=0.1)"),
        ("opt=sgd()", "opt=sgd"),
        ("loss=mse(reduction=mean)", "loss=mse"),
        ("init=kaiming_normal(mode=fan_in)", "init=kaiming_normal"),
        ("bias=True", "bias=true"),
        ("seed=0 dtype=float64", ""),
    ],
)
def test_equivalent_texts_give_equal_specs(a, b):
    spec_a, spec_b = Spec.parse(f"3-4-2 relu,identity {a}"), Spec.parse(f"3-4-2 relu,identity {b}")
    assert spec_a == spec_b and hash(spec_a) == hash(spec_b) and str(spec_a) == str(spec_b)


def test_hyperparameters_print_in_declared_order_without_defaults():
    spec = Spec.parse("2-2 leaky_relu(slope=0.2) opt=adam(eps=1e-06,lr=0.01,beta1=0.9)")
    assert str(spec.opt) == "adam(lr=0.01,eps=1e-06)"
    assert str(spec.activations[0]) == "leaky_relu(slope=0.2)"


def test_activation_hyperparameters_with_commas_inside_parentheses():
    spec = Spec.parse("2-3-3-1 hardtanh(min_val=-2,max_val=2),elu(alpha=0.5),identity")
    assert spec.activations[0] == Choice("hardtanh", (("min_val", -2.0), ("max_val", 2.0)))
    assert spec.activations[1] == Choice("elu", (("alpha", 0.5),))


def test_python_construction_equals_parsing():
    spec = Spec(
        sizes=[3, 4, 1],
        activations=["tanh", "sigmoid"],
        loss="bce",
        opt="sgd(lr=0.1,momentum=0.9)",
        init=Choice("xavier_uniform"),
    )
    assert spec == Spec.parse(EXAMPLE)
    assert Spec("3-4-1", "tanh,sigmoid", loss="bce") == Spec.parse("3-4-1 tanh,sigmoid loss=bce")


def test_spec_is_frozen_hashable_and_replace_validates():
    spec = Spec.parse(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 1  # type: ignore[misc]
    assert {spec: 1}[Spec.parse(str(spec))] == 1
    assert build(spec) is build(Spec.parse(str(spec)))
    assert spec.replace(seed=3).seed == 3 and spec.seed == 0
    with pytest.raises(SpecError, match="dtype must be one of float32, float64"):
        spec.replace(dtype="float16")


def test_choice_text():
    assert str(Choice("sgd")) == "sgd"
    assert str(Choice("adam", (("lr", 0.01), ("amsgrad", True)))) == "adam(lr=0.01,amsgrad=true)"
    assert Choice("adam", (("lr", 0.01),)).kwargs == {"lr": 0.01}
