"""Messages and edges of the spec, the data check, the registry and erf that the mutation run
showed unpinned: each message is asserted whole, so a changed word or shape is seen."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnparity.scratch import Choice, Spec, SpecError, activations, build, initializers, make_data
from nnparity.scratch.data import check_data, check_inputs
from nnparity.scratch.errors import DataError
from nnparity.scratch.initializers import gain
from nnparity.scratch.spec import is_activation, layer_choice, layer_text
from nnparity.scratch.special import erf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1x3x3 conv(2,k=3) batchnorm flatten dense(2) loss=mse batch=1",
            "layer 2 batchnorm would see one value per channel in training (batch 1, 2x1x1 per "
            "sample), which PyTorch refuses: use batch=2 or more",
        ),
        (
            "1x6x6 conv(2,k=3) relu maxpool(2) loss=mse",
            "the network ends with a 2x2x2 output per sample; a loss takes (batch, units): end "
            "with flatten and dense(units)",
        ),
        (
            "3-4-1 tanh,identity loss=bce",
            "loss bce needs the last activation to be sigmoid (it takes probabilities in [0, 1]); "
            "got identity",
        ),
        (
            "3-4-2 tanh,identity loss=nll",
            "loss nll needs the last activation to be log_softmax (it takes log-probabilities); "
            "got identity",
        ),
        (
            # the structural fields are not key=value options
            "3-4-1 tanh,sigmoid lyrs=2",
            "unknown spec key 'lyrs'; did you mean 'loss'? Known keys: batch, bias, bias_init, "
            "dtype, init, loss, opt, seed",
        ),
    ],
)
def test_spec_messages_whole(text, message):
    with pytest.raises(SpecError) as err:
        Spec.parse(text)
    assert str(err.value) == message


@pytest.mark.parametrize("key", ["sizes", "activations", "layers", "input_shape"])
def test_structural_fields_are_not_options(key):
    with pytest.raises(SpecError, match=f"unknown spec key '{key}'"):
        Spec.parse(f"3-4-1 tanh,sigmoid {key}=3")


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            "1x28x",
            "cannot read input shape '1x28x': write whole numbers joined by 'x', e.g. 1x28x28 "
            "(channels x height x width) or 8 (features)",
        ),
        (
            (2.5,),
            "input shape must be D (features) or CxHxW (an image), whole numbers >= 1, got (2.5,)",
        ),
        (
            (True,),
            "input shape must be D (features) or CxHxW (an image), whole numbers >= 1, got (True,)",
        ),
    ],
)
def test_input_shape_must_be_whole_numbers(shape, message):
    with pytest.raises(SpecError) as err:
        Spec(input_shape=shape, layers=("dense(2)",))
    assert str(err.value) == message


def test_a_layered_spec_without_layers_is_refused_with_the_fix():
    with pytest.raises(SpecError, match="hold no weights; add a dense or conv layer"):
        Spec(input_shape=(3,), layers=())


def test_one_activation_may_be_given_as_a_choice():
    spec = Spec(sizes=(3, 1), activations=Choice("sigmoid"))
    assert spec.activations == (Choice("sigmoid"),)


def test_a_layered_spec_keeps_no_dense_activations():
    layers = ("conv(2,k=3)", "flatten", "dense(2)")
    spec = Spec(input_shape="1x4x4", layers=layers, activations="tanh", loss="mse")
    assert (spec.sizes, spec.activations) == ((), ())


def test_y_shape_message_suggests_a_reshape_only_when_the_size_fits():
    spec = Spec.parse("3-4-2 tanh,identity loss=mse batch=4")
    x = np.zeros((4, 3))
    with pytest.raises(DataError) as err:
        check_data(spec, x, np.zeros((4, 3)))
    assert str(err.value) == "y has shape (4, 3); mse takes (4, 2)"
    with pytest.raises(DataError) as err:
        check_data(spec, x, np.zeros(8))
    assert str(err.value) == "y has shape (8,); mse takes (4, 2); use y.reshape(4, 2)"


def test_a_variant_without_hyperparameters_says_none():
    with pytest.raises(SpecError) as err:
        initializers["zeros"].build({"value": 1.0})
    assert str(err.value) == "'zeros' has no hyperparameter 'value'; known: none"


def test_erf_at_infinities_and_nan_warns_of_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = erf(np.array([-np.inf, np.inf, np.nan, 0.5, 1e300, -1e300]))
    np.testing.assert_array_equal(got[[0, 1, 4, 5]], [-1.0, 1.0, 1.0, -1.0])
    assert np.isnan(got[2]) and got[3] == pytest.approx(0.5204998778130465, rel=1e-15)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Spec.parse("loss=mse"),
            "cannot read spec 'loss=mse': write sizes then activations, e.g. '3-4-1 tanh,sigmoid "
            "loss=mse opt=sgd(lr=0.1)', or an input shape then layers, e.g. '1x8x8 conv(4,k=3) "
            "relu flatten dense(2)'",
        ),
        (
            lambda: Spec(input_shape="1x2x2", layers=("flatten",)),
            "need at least an input and an output size: the layers of 1x2x2 flatten hold no "
            "weights; add a dense or conv layer, e.g. 3 dense(4) tanh",
        ),
        (
            lambda: gain("swish"),
            "unknown nonlinearity 'swish' for a gain; known: linear, sigmoid, tanh, relu, selu, "
            "leaky_relu",
        ),
    ],
)
def test_more_messages_whole(make, message):
    with pytest.raises(SpecError) as err:
        make()
    assert str(err.value) == message


def test_layers_may_be_one_string():
    spec = Spec(input_shape="1x4x4", layers="conv(2,k=3) flatten dense(2)", loss="mse")
    assert [c.name for c in spec.layers] == ["conv", "flatten", "dense"]


def test_names_fold_hyphens_as_underscores():
    assert activations.canonical("Leaky-ReLU") == "leaky_relu"


def test_bce_data_draws_both_labels():
    _, y = make_data(Spec.parse("3-4-1 tanh,sigmoid loss=bce batch=64"))
    assert set(np.unique(y)) == {0.0, 1.0}


CE = "3-4-3 tanh,identity loss=cross_entropy batch=4"


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (
            np.zeros((4, 3)),
            "cross_entropy takes class indices of shape (4,), got (4, 3); for one-hot targets "
            "use y.argmax(1)",
        ),
        (np.zeros((4, 3, 1)), "cross_entropy takes class indices of shape (4,), got (4, 3, 1)"),
        (
            np.array([True, False, True, True]),
            "class indices must be whole numbers, got dtype bool",
        ),
    ],
)
def test_class_target_messages_whole(y, message):
    with pytest.raises(DataError) as err:
        check_data(Spec.parse(CE), np.zeros((4, 3)), y)
    assert str(err.value) == message


def test_whole_float32_class_indices_become_int64_and_int64_ones_are_not_copied():
    spec = Spec.parse(CE)
    _, y = check_data(spec, np.zeros((4, 3)), np.array([0, 1, 2, 0], dtype=np.float32))
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 0]
    labels = np.array([2, 1, 0, 0])
    assert check_data(spec, np.zeros((4, 3)), labels)[1] is labels


def test_image_input_message_names_x():
    spec = Spec.parse("1x4x4 conv(2,k=3) flatten dense(2) loss=mse")
    with pytest.raises(DataError) as err:
        check_inputs(spec, np.full((2, 1, 4, 4), np.nan))
    assert str(err.value) == "X holds a non-finite value nan at (0, 0, 0, 0): clean the data"


def test_a_space_inside_parentheses_does_not_split_the_spec():
    spec = Spec.parse("3-4-1 tanh,sigmoid loss=mse opt=sgd(lr=0.1, momentum=0.9)")
    assert str(spec.opt) == "sgd(lr=0.1,momentum=0.9)"


def test_layer_text_writes_only_a_positional_layers_first_value_bare():
    assert layer_text(layer_choice("batchnorm(eps=0.001)")) == "batchnorm(eps=0.001)"
    assert layer_text(layer_choice("dropout(0.1)")) == "dropout(0.1)"


def test_layers_may_be_one_choice():
    spec = Spec(input_shape=(3,), layers=Choice("dense", (("units", 2),)), loss="mse")
    assert spec.sizes == (3, 2)


def test_weightless_layers_message_lists_each_layer():
    with pytest.raises(SpecError) as err:
        Spec(input_shape="1x2x2", layers=("flatten", "relu"))
    assert "the layers of 1x2x2 flatten relu hold no weights" in str(err.value)


def test_leaky_relu_gain_defaults_to_slope_zero():
    assert gain("leaky_relu") == 2.0**0.5


def test_forward_mode_message_whole():
    spec = Spec.parse("3-4-1 tanh,sigmoid loss=mse")
    net = build(spec)
    with pytest.raises(SpecError) as err:
        net.forward(net.init_params(), np.zeros((2, 3)), mode="test")
    assert str(err.value) == "mode must be 'train' or 'eval', got 'test'"


def test_a_space_inside_a_layers_parentheses_does_not_split_it():
    spec = Spec(input_shape="1x4x4", layers="conv(2, k=3) flatten dense(2)", loss="mse")
    assert [c.name for c in spec.layers] == ["conv", "flatten", "dense"]
    assert spec.layers[0].kwargs == {"out": 2, "k": 3}


def test_a_name_that_is_neither_layer_nor_activation_is_no_activation():
    assert not is_activation("nonexistent") and not is_activation("conv") and is_activation("relu")


def test_batchnorm_counts_every_value_of_a_channel():
    """batch 1 with a 2x2x1 map per sample: 2 values per channel, which PyTorch accepts."""
    spec = Spec.parse("1x4x3 conv(2,k=3) batchnorm flatten dense(2) loss=mse batch=1")
    assert spec.n_layers == 3


def test_an_empty_spec_names_what_is_missing():
    with pytest.raises(SpecError) as err:
        Spec()
    assert str(err.value) == "need at least an input and an output size, got ()"


def test_a_pickled_spec_hashes_as_one_made_in_the_receiving_process():
    """Spec caches its hash; a string's hash differs between processes (PYTHONHASHSEED), so a
    spec sent to another process (dask workers) must not carry the sender's."""
    import pickle
    import subprocess
    import sys

    text = "3-4-1 tanh,sigmoid loss=bce opt=adam(lr=0.01)"
    spec = Spec.parse(text)
    hash(spec)  # the cache is filled
    assert "_hash" not in pickle.loads(pickle.dumps(spec)).__dict__
    code = (
        "import pickle, sys; from nnparity.scratch import Spec; "
        "s = pickle.loads(sys.stdin.buffer.read()); "
        f"print(hash(s) == hash(Spec.parse({text!r})), s in {{Spec.parse({text!r})}})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(spec),
        capture_output=True,
        env={**__import__("os").environ, "PYTHONHASHSEED": "12345"},
        check=True,
    )
    assert out.stdout.decode().split() == ["True", "True"]


def test_an_activations_values_may_come_without_keys_in_torch_nn_order():
    assert Spec.parse("3-4-1 leaky_relu(0.1),identity") == Spec.parse(
        "3-4-1 leaky_relu(slope=0.1),identity"
    )
    assert Spec.parse("3-4-1 LeakyReLU(0.2),identity").activations[0].kwargs == {"slope": 0.2}
    assert Spec.parse("3-4-1 softplus(2,threshold=10),identity").activations[0].kwargs == {
        "beta": 2.0,
        "threshold": 10.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "3-4-1 relu(0.1),identity",
            "cannot read '0.1' in 'relu(0.1)': relu takes no hyperparameters",
        ),
        (
            "3-4-1 leaky_relu(0.1,0.2),identity",
            "cannot read '0.2' in 'leaky_relu(0.1,0.2)': leaky_relu takes at most 1 value(s), in "
            "the order slope",
        ),
        ("3-4-1 leaky_relu(slope=0.1,0.2),identity", "write key=value"),
        ("3-4-1 leaky_relu(0.1,slope=0.2),identity", "'slope' is given twice"),
        # elsewhere the order of PyTorch's signature differs from ours: keys stay required
        (
            "3-4-1 tanh,identity opt=adam(0.01)",
            "cannot read '0.01' in 'adam(0.01)': write key=value",
        ),
    ],
)
def test_values_without_keys_are_refused_where_they_cannot_be_read(text, message):
    with pytest.raises(SpecError) as e:
        Spec.parse(text)
    assert message in str(e.value)


def test_class_labels_under_a_real_valued_loss_are_told_the_one_hot_rows():
    """Review s20a, t21: integer labels under sse were refused with no way out named."""
    spec = Spec.parse("3-4-2 sigmoid,sigmoid loss=sse batch=4")
    with pytest.raises(DataError) as err:
        check_data(spec, np.zeros((4, 3)), np.array([0, 1, 1, 0]))
    assert str(err.value).endswith(
        "these look like class labels: pass one-hot rows, np.eye(2)[y] (code that takes labels "
        "gets them back as y.argmax(1)), or use cross_entropy"
    )
    with pytest.raises(DataError) as err:  # values no class index takes: no such reading
        check_data(spec, np.zeros((4, 3)), np.array([0.5, 1.0, 1.0, 0.0]))
    assert str(err.value) == "y has shape (4,); sse takes (4, 2)"


@pytest.mark.parametrize("act", ["softmax", "log_softmax"])
def test_a_row_wise_activation_over_one_unit_is_refused(act):
    """Review s30b F6: softmax over one output (constant 1, every gradient 0) was accepted,
    and a correct program was then told 'add units' (capacity)."""
    with pytest.raises(SpecError, match=r"over a layer of one unit is constant.*use sigmoid"):
        Spec.parse(f"2-4-1 tanh,{act} loss=mse")
    Spec.parse(f"2-4-2 tanh,{act} loss=mse")  # two units: a distribution
