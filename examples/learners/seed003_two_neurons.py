"""Seed 003, rewritten: "my two-neuron network cannot map 0 -> 0 and 1 -> 1".

Two sigmoid neurons in a chain, one weight each and no bias: y = sigmoid(w[0] x),
z = sigmoid(w[1] y). The learner maximises the negative error -1/2 sum (d - z)^2 by gradient
ascent with rate 5, which is the same as descending on the error: the code is right. The
network cannot fit the data: with x = 0 the first neuron outputs 0.5 whatever w[0] is.

Check it: ``nnparity check examples/learners/seed003_two_neurons.py --steps 10``.
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class TwoNeurons:
    def __init__(self, seed=0, rate=5.0):
        self.w = np.random.RandomState(seed).rand(2)
        self.rate = rate

    def error(self, d, z):
        return -0.5 * np.sum(np.power(d - z, 2))

    def train_step(self, x, d):
        y = sigmoid(self.w[0] * x)
        z = sigmoid(self.w[1] * y)
        gradient = np.zeros(2)
        gradient[0] = np.sum(z * self.w[1] * y * x * (d - z) * (1 - y) * (1 - z))
        gradient[1] = np.sum(y * z * (d - z) * (1 - z))
        self.w[0] += gradient[0] * self.rate
        self.w[1] += gradient[1] * self.rate
        return self.error(d, z)


X = np.array([0, 1])
D = np.copy(X)


def nnparity_adapter():
    from nnparity.reference.learner import from_step

    net = TwoNeurons()
    return from_step(
        net,
        ["w[0]", "w[1]"],
        lambda X, y: net.train_step(X[:, 0], y[:, 0]),
        sizes=[1, 1, 1],
        activations="sigmoid,sigmoid",
        bias="none",
        loss="half_sse",
        reduction="sum",
        optimizer="sgd",
        lr=5.0,
        data=(X[:, None], D[:, None]),
    )


if __name__ == "__main__":
    net = TwoNeurons()
    for _ in range(800):
        err = net.train_step(X, D)
    print(err, sigmoid(net.w[1] * sigmoid(net.w[0] * X)))
