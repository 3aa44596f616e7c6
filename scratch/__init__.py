"""nnparity's from-scratch NumPy MLP: readable like a textbook, imports nothing but NumPy."""

from .activations import Activation, activations
from .data import check_data, check_inputs, make_data, target_kind
from .errors import DataError, NNParityError, SpecError
from .initializers import initializers
from .layers import layers
from .losses import Loss, losses
from .model import Network, build, param_names
from .optimizers import Optimizer, optimizers
from .spec import Choice, Spec
from .stack import LayeredNetwork, NetState

REGISTRIES = {
    "activation": activations,
    "initializer": initializers,
    "loss": losses,
    "optimizer": optimizers,
}

__all__ = [
    "REGISTRIES",
    "Activation",
    "Choice",
    "DataError",
    "LayeredNetwork",
    "Loss",
    "NNParityError",
    "NetState",
    "Network",
    "Optimizer",
    "Spec",
    "SpecError",
    "activations",
    "build",
    "check_data",
    "check_inputs",
    "initializers",
    "layers",
    "losses",
    "make_data",
    "optimizers",
    "param_names",
    "target_kind",
]
