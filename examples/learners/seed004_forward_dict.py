"""Seed 004, rewritten: a forward pass with the parameters in a dict (a textbook chapter).

Two sigmoid hidden layers and an identity output, weights (in, out) and biases in a dict
``network`` under W1, b1, ... W3, b3. Only the forward pass exists; it is right.

Check it: ``nnparity check examples/learners/seed004_forward_dict.py``.
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def identity_function(x):
    return x


def init_network():
    network = {}
    network["W1"] = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
    network["b1"] = np.array([0.1, 0.2, 0.3])
    network["W2"] = np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]])
    network["b2"] = np.array([0.1, 0.2])
    network["W3"] = np.array([[0.1, 0.3], [0.2, 0.4]])
    network["b3"] = np.array([0.1, 0.2])
    return network


def forward(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    return identity_function(a3)


def nnparity_adapter():
    from nnparity.reference.learner import from_forward

    network = init_network()
    return from_forward(
        network,
        ["W1", "b1", "W2", "b2", "W3", "b3"],
        lambda X: forward(network, X),
        sizes=[2, 3, 2, 2],
        activations="sigmoid,sigmoid,identity",
        data=([[1.0, 0.5], [0.0, -1.0], [2.0, 0.3]], None),
    )


if __name__ == "__main__":
    print(forward(init_network(), np.array([1.0, 0.5])))  # [0.31682708 0.69627909]
