"""Seed 001, rewritten: "after some iterations my weights turn into NaN".

A 3-4-1 network without biases: leaky ReLU hidden units, a sigmoid output, binary
cross-entropy differentiated by hand as -y/a + (1 - y)/(1 - a), gradients summed over the
batch (no 1/N) and a learning rate of 1. Weights are (in, out). As written by the learner,
``leaky_relu_derivative`` overwrites its argument (z) in place; z is not used afterwards, so
that does no harm here. The NaN comes when the output saturates to exactly 1.0.

Check it: ``nnparity check examples/learners/seed001_leaky_bce_nan.py --steps 300``.
"""

import numpy as np


class ArtificialNeuralNetwork:
    def __init__(self):
        rng = np.random.RandomState(1)  # the same weights on every run
        self.w_ij = 2 * rng.rand(3, 4) - 1  # hidden layer, 3 inputs x 4 units
        self.w_jk = 2 * rng.rand(4, 1) - 1  # output layer, 4 inputs x 1 unit

    def leaky_relu(self, x):
        return np.where(x > 0, x, x * 0.01)

    def leaky_relu_derivative(self, x, alpha=0.01):
        x[x > 0] = 1
        x[x <= 0] = alpha
        return x

    def sigmoid(self, x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_derivative(self, a):
        return a * (1 - a)  # takes the sigmoid's output

    def train(self, x, y, learning_rate, iterations):
        for _ in range(iterations):
            z_ij = np.dot(x, self.w_ij)
            a_ij = self.leaky_relu(z_ij)
            z_jk = np.dot(a_ij, self.w_jk)
            a_jk = self.sigmoid(z_jk)
            dl_jk = -y / a_jk + (1 - y) / (1 - a_jk)
            da_jk = self.sigmoid_derivative(a_jk)
            dz_jk = a_ij
            dl_ij = np.dot(da_jk * dl_jk, self.w_jk.T)
            da_ij = self.leaky_relu_derivative(z_ij)
            dz_ij = x
            gradient_ij = np.dot(dz_ij.T, dl_ij * da_ij)
            gradient_jk = np.dot(dz_jk.T, dl_jk * da_jk)
            self.w_ij = self.w_ij - learning_rate * gradient_ij
            self.w_jk = self.w_jk - learning_rate * gradient_jk


INPUTS = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]]
TARGETS = [[0], [1], [1], [1], [1], [0], [0]]


def nnparity_adapter():
    from nnparity.reference.learner import from_step

    ann = ArtificialNeuralNetwork()
    return from_step(
        ann,
        ["w_ij", "w_jk"],
        lambda X, y: ann.train(X, y, 1, 1),
        sizes=[3, 4, 1],
        activations="leaky_relu,sigmoid",
        bias="none",
        loss="bce",
        reduction="sum",
        optimizer="sgd",
        lr=1.0,
        data=(INPUTS, TARGETS),
    )


if __name__ == "__main__":
    ann = ArtificialNeuralNetwork()
    ann.train(np.array(INPUTS), np.array(TARGETS), 1, 10000)
    print(ann.w_ij, ann.w_jk)
