"""Bad input: each mistake a user can make gets one clear SpecError or DataError naming the fix,
raised when the spec is read or the data is checked, before any work is done."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnparity.scratch import (
    DataError,
    NNParityError,
    Spec,
    SpecError,
    build,
    check_data,
    optimizers,
)

KNOWN_ACTS = "Known activations: identity, sigmoid, tanh, relu"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # unknown names: the close match and the known names
        ("3-4-1 rleu,identity", rf"unknown activation 'rleu'; did you mean 'relu'\? {KNOWN_ACTS}"),
        ("3-4-1 tanh,identity opt=adamm", "unknown optimizer 'adamm'; did you mean 'adam'?"),
        ("3-4-1 tanh,identity loss=mce", r"unknown loss 'mce'; did you mean 'mse'\? Known losses"),
        # another library's name for a variant here: that one, not the closest spelling
        ("3-4-1 tanh,identity loss=mae", r"unknown loss 'mae'; did you mean 'l1' \(the same"),
        ("3-4-1 swish,identity", r"unknown activation 'swish'; did you mean 'silu' \(the same"),
        ("3-4-1 tanh,identity init=glorot_uniform", "did you mean 'xavier_uniform' \\(the same"),
        ("3-4-1 tanh,identity init=xavier", "did you mean 'xavier_normal'.*xavier_uniform"),
        ("3-4-1 tanh,identity opt=zzz", r"unknown optimizer 'zzz'\. Known optimizers: sgd, adam"),
        # an optimizer of its own elsewhere: said so, with no near name (adagrad is another)
        ("3-4-1 tanh,identity opt=adadelta", r"'adadelta': torch.optim has it, but .*no step="),
        ("3-4-1 tanh,identity opt=lion", r"'lion': an optimizer of its own, and nnparity has no"),
        # sizes and activations
        ("3-4-1 tanh", r"2 layer\(s\) \(3-4-1\) need 2 activation\(s\), one per layer; got 1"),
        ("3-4 tanh,identity", r"1 layer\(s\) \(3-4\) need 1 activation\(s\).*got 2"),
        ("3-0-1 tanh,identity", r"layer sizes must be whole numbers >= 1, got \(3, 0, 1\)"),
        ("3--1 tanh", "cannot read layer sizes '3--1': write whole numbers joined by '-'"),
        ("3-x-1 tanh,identity", "cannot read layer sizes"),
        ("3 tanh", "need at least an input and an output size"),
        ("3-4-1", "write sizes then activations"),
        # loss against the output
        ("3-4-1 tanh,identity loss=cross_entropy", "cross_entropy needs at least 2 output units"),
        ("3-4-1 tanh,log_softmax loss=nll", "nll needs at least 2 output units"),
        ("3-4-1 tanh,identity loss=bce", "loss bce needs the last activation to be sigmoid"),
        ("3-4-3 tanh,softmax loss=nll", "nll needs the last activation to be log_softmax"),
        ("3-4-3 tanh,softmax loss=cross_entropy", "needs the last activation to be identity"),
        ("3-4-1 tanh,sigmoid loss=bce_with_logits", "takes raw logits.*got sigmoid"),
        # hyperparameters out of range
        ("3-4-1 tanh,identity opt=sgd(lr=0)", r"sgd lr=0.0 is out of range: it must lie in \(0,"),
        ("3-4-1 tanh,identity opt=adam(lr=-1)", r"adam lr=-1.0 is out of range"),
        (
            "3-4-1 tanh,identity opt=sgd(lr=nan)",
            "optimizer .sgd. hyperparameter .lr. must be a finite number, got nan",
        ),
        ("3-4-1 tanh,identity opt=adam(beta1=1)", r"adam beta1=1.0 .* must lie in \[0, 1\)"),
        ("3-4-1 tanh,identity opt=adamw(beta2=-0.1)", r"adamw beta2=-0.1 .* \[0, 1\)"),
        ("3-4-1 tanh,identity opt=adam(eps=-1e-8)", r"adam eps=-1e-08 .* must lie in \[0, inf\)"),
        ("3-4-1 tanh,identity opt=rmsprop(eps=-1)", "rmsprop eps=-1.0 is out of range"),
        ("3-4-1 tanh,identity opt=rmsprop(alpha=1)", "rmsprop alpha=1.0 is out of range"),
        ("3-4-1 tanh,identity opt=adagrad(lr_decay=-1)", "adagrad lr_decay=-1.0 is out of"),
        ("3-4-1 tanh,identity opt=sgd(momentum=-0.5)", "sgd momentum=-0.5 is out of range"),
        ("3-4-1 tanh,identity opt=sgd(nesterov=true)", "nesterov=true needs momentum > 0"),
        ("3-4-1 tanh,identity opt=sgd(momentum=.9,dampening=.1,nesterov=true)", "dampening = 0"),
        ("3-4-1 tanh,identity loss=huber(delta=0)", "huber delta must be > 0"),
        ("3-4-1 tanh,identity init=trunc_normal(a=2,b=-2)", "trunc_normal needs a < b"),
        ("3-4-1 gelu(approximate=fast),identity", "gelu approximate must be 'none' or 'tanh'"),
        ("3-4-1 hardtanh(min_val=1,max_val=-1),identity", "hardtanh needs min_val < max_val"),
        ("3-4-1 tanh,identity loss=mse(reduction=none)", "reduction must be 'mean', 'batch' or"),
        ("3-4-1 tanh,identity init=kaiming_normal(mode=fan_avg)", "mode must be 'fan_in' or"),
        ("3-4-1 tanh,identity init=kaiming_normal(nonlinearity=gelu)", "unknown nonlinearity"),
        # hyperparameter names and types
        ("3-4-1 tanh,identity opt=sgd(momentun=0.9)", "no hyperparameter 'momentun'; did you mean"),
        ("3-4-1 relu(slope=0.1),identity", "'relu' has no hyperparameter 'slope'. Its hyper.*none"),
        ("3-4-1 tanh,identity opt=sgd(lr=abc)", "'lr' must be a number, got 'abc'"),
        ("3-4-1 tanh,identity opt=adam(lr=true)", "'lr' must be a number, got True"),
        ("3-4-1 tanh,identity opt=adam(amsgrad=1)", "'amsgrad' must be true or false, got 1"),
        ("3-4-1 tanh,identity loss=mse(reduction=1)", "'reduction' must be a word, got 1"),
        ("3-4-1 tanh,identity opt=sgd(lr)", r"cannot read 'lr' in 'sgd\(lr\)': write key=value"),
        ("3-4-1 tanh,identity opt=sgd(lr=0.1", "cannot read optimizer.*name\\(key=value"),
        # spec keys and values
        ("3-4-1 tanh,identity optimizer=adam", "unknown spec key 'optimizer'; did you mean 'opt'"),
        ("3-4-1 tanh,identity sed=1", r"unknown spec key 'sed'; did you mean 'seed'\? Known keys"),
        ("3-4-1 tanh,identity loss", "cannot read 'loss' in spec .*: write key=value"),
        ("3-4-1 tanh,identity seed=0 seed=1", "spec key 'seed' is given twice"),
        (
            "3-4-1 tanh,identity dtype=float16",
            "dtype must be one of float32, float64, got 'float16'",
        ),
        ("3-4-1 tanh,identity seed=-1", "seed must be an integer >= 0, got -1"),
        ("3-4-1 tanh,identity seed=1.5", "seed must be an integer >= 0, got 1.5"),
        ("3-4-1 tanh,identity batch=0", "batch must be an integer >= 1, got 0"),
        ("3-4-1 tanh,identity bias=1", "bias must be true or false, got 1"),
        # hyperparameters: finite, once each
        ("3-4-1 leaky_relu(slope=nan),identity", "'slope' must be a finite number, got nan"),
        ("3-4-1 tanh,identity init=normal(std=inf)", "'std' must be a finite number, got inf"),
        ("3-4-1 tanh,identity opt=sgd(lr=0.1,lr=0.2)", "'lr' is given twice in 'sgd"),
        ("3-4-1 softplus(beta=0),identity", r"softplus needs beta > 0 \(it divides by beta\)"),
    ],
)
def test_bad_spec_text(text, match):
    with pytest.raises(SpecError, match=match):
        Spec.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "3-4-1 tanh, sigmoid opt=sgd(lr=0.1,momentum=0.9) dtype=float32",
        "3-4-1 tanh,sigmoid opt = sgd( lr=0.1 , momentum = 0.9 ) dtype = float32",
        "  3-4-1   tanh ,sigmoid   opt=sgd(lr=0.1,momentum=0.9)   dtype=float32  ",
    ],
)
def test_spaces_around_separators_read_as_without_them(text):
    assert Spec.parse(text) == Spec.parse(
        "3-4-1 tanh,sigmoid opt=sgd(lr=0.1,momentum=0.9) dtype=float32"
    )


def test_errors_are_value_errors_of_one_family():
    assert issubclass(SpecError, NNParityError) and issubclass(DataError, NNParityError)
    assert issubclass(NNParityError, ValueError)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"sizes": (3, 4.5, 1)}, "layer sizes must be whole numbers"),
        ({"sizes": (3, True)}, "layer sizes must be whole numbers"),
        ({"activations": ("tanh", "nope")}, "unknown activation 'nope'"),
        ({"bias": "yes"}, "bias must be true or false"),
        ({"seed": True}, "seed must be an integer"),
        ({"opt": 3}, "cannot read optimizer 3"),
    ],
)
def test_bad_python_arguments(kw, match):
    args = {"sizes": (3, 4, 1), "activations": ("tanh", "identity"), **kw}
    with pytest.raises(SpecError, match=match):
        Spec(**args)


def test_optimizer_registry_rejects_unknown_hyperparameters_when_built():
    with pytest.raises(SpecError, match="'sgd' has no hyperparameter 'betas'"):
        optimizers["sgd"].build({"betas": (0.9, 0.99)})


# -- data that does not fit the spec -------------------------------------------------------
REG = Spec.parse("3-4-2 tanh,identity")
ONE = Spec.parse("1-4-1 tanh,identity")
CLS = Spec.parse("3-4-4 tanh,identity loss=cross_entropy")
BIN = Spec.parse("3-4-1 tanh,sigmoid loss=bce")
F32 = Spec.parse("3-4-2 tanh,identity dtype=float32")
Z = np.zeros


@pytest.mark.parametrize(
    ("spec", "X", "y", "match"),
    [
        (REG, Z((5, 4)), Z((5, 2)), r"X has shape \(5, 4\); the spec 3-4-2 takes \(batch, 3\)"),
        (REG, Z(3), Z((1, 2)), r"X has shape \(3,\); .* one row per sample"),
        (REG, Z((5, 3, 1)), Z((5, 2)), r"X has shape \(5, 3, 1\)"),
        (ONE, Z(5), Z((5, 1)), r"use X.reshape\(-1, 1\)"),
        (REG, Z((5, 3)), Z((5, 3)), r"y has shape \(5, 3\); mse takes \(5, 2\)"),
        (REG, Z((5, 3)), Z(10), r"y has shape \(10,\); mse takes \(5, 2\); use y.reshape\(5, 2\)"),
        (REG, Z((5, 3)), Z((4, 2)), r"y has shape \(4, 2\)"),
        (BIN, Z((3, 3)), Z(3), r"bce takes \(3, 1\); use y.reshape\(3, 1\)"),
        (REG, [[0, np.nan, 0]], Z((1, 2)), r"X holds a non-finite value nan at \(0, 1\)"),
        (REG, [[0, 0, -np.inf]], Z((1, 2)), r"X holds a non-finite value -inf at \(0, 2\)"),
        (REG, Z((1, 3)), [[0, np.nan]], r"y holds a non-finite value nan at \(0, 1\)"),
        (F32, np.full((1, 3), 1e300), Z((1, 2)), "X holds 1e\\+300 .* too large for float32"),
        (REG, [["a", "b", "c"]], Z((1, 2)), "X must hold real numbers, got dtype <U1"),
        (REG, Z((1, 3)), [["a", "b"]], "y must hold real numbers"),
        (REG, Z((1, 3), dtype=complex), Z((1, 2)), "X must hold real numbers, got dtype complex"),
        (CLS, Z((3, 3)), [0, 1, 4], r"class indices must lie in \[0, 3\], got 0..4"),
        (CLS, Z((3, 3)), [0, -1, 2], r"class indices must lie in \[0, 3\], got -1..2"),
        (CLS, Z((3, 3)), np.eye(4)[:3], r"class indices of shape \(3,\).*use y.argmax\(1\)"),
        (CLS, Z((3, 3)), np.zeros((3, 1)), r"got \(3, 1\); for a column of class.*y.ravel\(\)"),
        (CLS, Z((3, 3)), [0.5, 1, 2], "class indices must be whole numbers"),
        (CLS, Z((3, 3)), [0, np.inf, 2], "class indices must be whole numbers"),
        (CLS, Z((3, 3)), [0, 1], r"class indices of shape \(3,\), got \(2,\)"),
        (BIN, Z((3, 3)), [[0], [2], [1]], r"bce targets must lie in \[0, 1\]"),
    ],
)
@pytest.mark.parametrize("entry", ["check_data", "train_step", "loss_and_grads", "loss"])
def test_bad_data(spec, X, y, match, entry):
    """Every entry point that takes data checks it before any work, with the same message."""
    net = build(spec)
    params = net.init_params()
    call = {
        "check_data": lambda: check_data(spec, X, y),
        "train_step": lambda: net.train_step(params, net.init_state(params), X, y),
        "loss_and_grads": lambda: net.loss_and_grads(params, X, y),
        "loss": lambda: net.loss(params, X, y),
    }[entry]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clear error, not a NumPy warning on the way
        with pytest.raises(DataError, match=match):
            call()


def test_forward_checks_its_inputs():
    net = build(REG)
    with pytest.raises(DataError, match=r"X has shape \(5, 4\); the spec 3-4-2 takes"):
        net.forward(net.init_params(), Z((5, 4)))


def test_float64_data_keeps_a_float32_network_float32():
    """NumPy's default float64 data must not upcast a float32 network's step (NEP 50)."""
    net = build(F32.replace(opt="adam"))
    params = net.init_params()
    X, y = np.ones((4, 3)), np.ones((4, 2))  # float64
    new, state, _ = net.train_step(params, net.init_state(params), X, y)
    assert {v.dtype for v in new.values()} == {np.dtype(np.float32)}
    assert {v.dtype for v in state.exp_avg.values()} == {np.dtype(np.float32)}
    assert net.forward(params, X)[0].dtype == np.float32


def test_good_data_is_cast_to_the_spec_dtype():
    X, y = check_data(F32, np.ones((2, 3)), np.ones((2, 2)))
    assert X.dtype == y.dtype == np.float32
    X, y = check_data(CLS, [[1, 2, 3]], [3.0])
    assert X.dtype == np.float64 and y.dtype == np.int64 and y.tolist() == [3]
    _, y = check_data(BIN, np.ones((2, 3)), np.array([[True], [False]]))
    assert y.dtype == np.float64 and y.tolist() == [[1.0], [0.0]]


def test_numpy_scalars_are_numbers_and_numpy_bools_are_not():
    """Review s19b: a float32 program declares ``lr=np.float32(2.0)`` (to keep its update in
    float32) and was refused, "must be a number"."""
    from nnparity.scratch import optimizers

    assert optimizers.normalize("sgd", {"lr": np.float32(0.5)}) == (("lr", 0.5),)
    assert optimizers.normalize("sgd", {"momentum": np.float64(0.9)}) == (("momentum", 0.9),)
    with pytest.raises(SpecError, match="'lr' must be a number, got"):
        optimizers.normalize("sgd", {"lr": np.True_})
