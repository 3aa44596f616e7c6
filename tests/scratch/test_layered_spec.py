"""The layered one-line spec: it round-trips, dense specs keep their form and meaning, and a
layer sequence that cannot run fails at parse time with one line naming the fix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnparity.scratch import Choice, Spec, SpecError, build, make_data

EXAMPLE = (
    "1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm relu dropout(0.25) "
    "dense(3) loss=cross_entropy opt=adam(lr=0.01) dtype=float32 seed=0"
)


def test_the_issue_example_parses_into_layers_and_prints_back():
    spec = Spec.parse(EXAMPLE)
    assert spec.input_shape == (1, 8, 8) and spec.sizes == () and spec.activations == ()
    assert spec.layers[0] == Choice("conv", (("out", 4), ("k", 3), ("pad", 1)))
    assert spec.layers[2] == Choice("maxpool", (("k", 2),))
    assert spec.layers[7] == Choice("dropout", (("p", 0.25),))
    assert str(spec) == (
        "1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm relu dropout(0.25) "
        "dense(3) bias=true init=torch_default bias_init=torch_default loss=cross_entropy "
        "opt=adam(lr=0.01) dtype=float32 seed=0 batch=8"
    )
    assert Spec.parse(str(spec)) == spec and spec.out_units == 3 and spec.n_layers == 5


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("conv(4,k=3,pad=1)", "conv(out=4, k=3, pad=1, stride=1)"),
        ("maxpool(2)", "MaxPool(k=2,stride=0)"),
        ("dropout(0.5)", "dropout"),
        ("batchnorm(momentum=0.1)", "batchnorm"),
    ],
)
def test_equivalent_layer_texts_give_equal_specs(a, b):
    head, tail = "1x6x6", "flatten dense(2)"
    assert Spec.parse(f"{head} {a} {tail}") == Spec.parse(f"{head} {b} {tail}")


def test_a_layered_spec_of_dense_layers_is_the_dense_spec_it_spells():
    dense = Spec.parse("3-4-2 tanh,identity loss=mse")
    assert Spec.parse("3 dense(4) tanh dense(2) loss=mse") == dense
    assert str(Spec.parse("3 dense(4) tanh dense(2) identity")) == str(dense)
    assert dense.stack == (
        Choice("dense", (("units", 4),)),
        Choice("tanh"),
        Choice("dense", (("units", 2),)),
        Choice("identity"),
    )
    assert dense.in_shape == (3,) and dense.layers == () and not dense.layered


def test_python_construction_equals_parsing():
    spec = Spec(
        input_shape=(1, 8, 8),
        layers=("conv(4,k=3,pad=1)", "relu", "flatten", "dense(3)"),
        loss="cross_entropy",
    )
    assert spec == Spec.parse("1x8x8 conv(4,k=3,pad=1) relu flatten dense(3) loss=cross_entropy")
    assert spec.replace(seed=3).layers == spec.layers and spec.replace(seed=3).seed == 3


@st.composite
def layered_specs(draw):
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(3, 9)), draw(st.integers(3, 9))
    layers = []
    k = draw(st.integers(1, min(h, w)))
    pad = draw(st.integers(0, 2))
    stride = draw(st.integers(1, 3))
    layers.append(f"conv({draw(st.integers(1, 4))},k={k},stride={stride},pad={pad})")
    layers += draw(
        st.lists(
            st.sampled_from(
                ["relu", "tanh", "batchnorm", "layernorm", "dropout(0.1)", "elu(alpha=2.0)"]
            ),
            max_size=2,
        )
    )
    if draw(st.booleans()):
        layers.append(draw(st.sampled_from(["maxpool(1)", "avgpool(1,stride=2)"])))
    layers.append("flatten")
    layers.append(f"dense({draw(st.integers(1, 6))})")
    layers += draw(
        st.lists(
            st.sampled_from(["batchnorm", "sigmoid", "dropout(0.5)", "dropout(0.75)"]), max_size=2
        )
    )
    layers.append(f"dense({draw(st.integers(2, 4))})")
    keys = draw(st.sampled_from(["", "loss=cross_entropy", "bias=false dtype=float32 batch=3"]))
    return f"{c}x{h}x{w} {' '.join(layers)} {keys}"


@settings(max_examples=60, deadline=None)
@given(layered_specs())
def test_layered_text_round_trip(text):
    spec = Spec.parse(text)
    assert Spec.parse(str(spec)) == spec
    assert str(Spec.parse(str(spec))) == str(spec)
    assert hash(Spec.parse(str(spec))) == hash(spec)
    X, y = make_data(spec, batch=2)
    out, _ = build(spec).forward(build(spec).init_params(), X)
    assert out.shape == (2, spec.out_units)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1x8x8 conv(4,k=3) relu dense(3)", r"layer 3 dense\(3\): .*put flatten before it"),
        (
            "1x4x4 conv(2,k=7,pad=1) flatten dense(2)",
            r"kernel k=7 is larger than its padded input 6x6 .*use k <= 6, or more padding",
        ),
        ("1x3x3 maxpool(4) flatten dense(2)", r"window k=4 is larger than its 3x3 input"),
        (  # channels last, as Keras writes it (review s9a)
            "8x8x1 conv(4,k=3) flatten dense(2)",
            r"read as C x H x W \(8 channels of 8x1\): for 1-channel 8x8 images write 1x8x8",
        ),
        (
            "4 dense(3) batchnorm dense(2) batch=1",
            r"one value per channel in training.*PyTorch refuses.*use batch=2 or more",
        ),
        ("2x1x1 conv(3,k=1) batchnorm flatten dense(2) batch=1", r"one value per channel"),
        ("1x8x8 conv(4,k=3) relu", r"ends with a 4x6x6 output.*end with flatten and dense"),
        ("8 maxpool(2) dense(2)", r"takes images .*write the input shape as CxHxW"),
        ("1x8x8 flatten relu", r"hold no weights; add a dense or conv layer"),
        ("1x8x8 conv(k=3) flatten dense(2)", r"conv needs out channels >= 1 .*conv\(8,k=3\)"),
        ("1x8x8 conv(4) flatten dense(2)", r"kernel size k >= 1"),
        ("1x8x8 cnov(4,k=3) flatten dense(2)", r"unknown layer 'cnov'; did you mean 'conv'\?"),
        ("1x8x8 batchnorm(0.1) flatten dense(2)", r"cannot read '0.1'.*write key=value"),
        ("4 dense(3) dropout(1.0) dense(2)", r"dropout p .* must lie in \[0, 1\)"),
        ("1x8x8x2 flatten dense(2)", r"input shape must be D .* or CxHxW"),
        ("1x8x8 conv(2,k=3) softmax flatten dense(2)", r"softmax .*put flatten before it"),
        (
            "4 dense(3) relu dense(2) sigmoid loss=cross_entropy",
            r"loss cross_entropy needs the last activation to be identity",
        ),
    ],
)
def test_bad_layer_sequences_fail_at_parse_time_with_one_line_naming_the_fix(text, match):
    with pytest.raises(SpecError, match=match) as err:
        Spec.parse(text)
    assert "\n" not in str(err.value)


def test_dense_error_messages_are_unchanged():
    with pytest.raises(SpecError, match="need at least an input and an output size"):
        Spec.parse("3 tanh")
