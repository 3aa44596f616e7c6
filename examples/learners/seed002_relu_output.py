"""Seed 002, rewritten: a 2-2-1 XOR network "that works better with ReLU".

ReLU hidden and output units, no biases, weights (in, out), the cost 1/2 sum (y - yHat)^2 for
one sample at a time, plain gradient descent with lr 0.01. As the learner wrote it, the
backward pass multiplies by sigmoid(z) where ReLU'(z) belongs, at both layers.

Check it: ``nnparity check examples/learners/seed002_relu_output.py --steps 8``.
"""

import numpy as np


class NeuralNetwork:
    def __init__(self, seed=0):
        rng = np.random.RandomState(seed)
        self.n_inputs, self.n_outputs, self.n_hidden = 2, 1, 2
        self.W1 = rng.rand(self.n_inputs, self.n_hidden)
        self.W2 = rng.rand(self.n_hidden, self.n_outputs)

    def relu(self, z):
        return np.maximum(0, z)

    def sigmoid(self, z):
        return 1 / (1 + np.exp(-z))

    def forward(self, X):
        self.z2 = np.dot(X, self.W1)
        self.a2 = self.relu(self.z2)
        self.z3 = np.dot(self.a2, self.W2)
        return self.relu(self.z3)

    def cost(self, X, y):
        self.yHat = self.forward(X)
        return 0.5 * np.sum((y - self.yHat) ** 2)

    def cost_prime(self, X, y):
        delta3 = np.multiply(-(y - self.yHat), self.sigmoid(self.z3))
        djw2 = np.dot(self.a2.T, delta3)
        delta2 = np.dot(delta3, self.W2.T) * self.sigmoid(self.z2)
        djw1 = np.dot(X.T, delta2)
        return djw1, djw2


INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
TARGETS = [0, 1, 1, 0]


def nnparity_adapter():
    from nnparity.reference.learner import from_gradients

    nn = NeuralNetwork()
    return from_gradients(
        nn,
        ["W1", "W2"],
        lambda X, y: (nn.cost(X, y), nn.cost_prime(X, y)),
        sizes=[2, 2, 1],
        activations="relu,relu",
        bias="none",
        loss="half_sse",
        reduction="sum",
        optimizer="sgd",
        lr=0.01,
        batch_size=1,
        data=(INPUTS, TARGETS),
    )


if __name__ == "__main__":
    nn = NeuralNetwork()
    for _ in range(6000):
        for x, d in zip(INPUTS, TARGETS, strict=True):
            X, y = np.array([x]), np.array([[d]])
            nn.cost(X, y)
            djw1, djw2 = nn.cost_prime(X, y)
            nn.W1, nn.W2 = nn.W1 - 0.01 * djw1, nn.W2 - 0.01 * djw2
    print([nn.forward(np.array([x]))[0, 0].round(4) for x in INPUTS])
