"""Seed 000, rewritten: "with sigmoid hidden units my XOR net learns, with ReLU it learns nothing".

One hidden layer of 10 ReLU units and a sigmoid output, trained one sample at a time with the
error 1/2 (y - d)^2. The hidden weights ``Ws`` (out, in) carry the bias as a last column (the
input gets a constant 1 appended); the output weights ``Wo`` have no bias. The loops are the
learner's, with the learner's two slips kept:

- the output error (y - d) is used without sigmoid'(Z_2), although the loss is 1/2 (y - d)^2;
- ``Wo`` is updated first, and the hidden gradient is then computed with the new ``Wo``.

Check it: ``nnparity check examples/learners/seed000_relu_xor.py --steps 8``.
"""

import numpy as np


def relu(x):
    return np.maximum(0, x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class OnlineXorNet:
    def __init__(self, n_hidden=10, alpha=0.05, seed=0):
        rng = np.random.RandomState(seed)
        self.n_in, self.n_hidden, self.n_out = 3, n_hidden, 1
        self.Ws = 1 / 4 * rng.rand(n_hidden, self.n_in + 1)
        self.Wo = 1 / 4 * rng.rand(self.n_out, n_hidden)
        self.alpha = alpha

    def train_on(self, sample, d):
        """One update from one sample; returns the learner's own loss printout."""
        x = np.append(sample, 1)
        Z_1 = np.dot(self.Ws, x)
        Z_2 = np.dot(self.Wo, relu(Z_1))
        y = sigmoid(Z_2)
        dWs = 0 * self.Ws
        dWo = 0 * self.Wo
        for j in range(self.n_hidden):
            for i in range(self.n_out):
                if Z_1[j] >= 0:
                    dWo[i, j] = dWo[i, j] + (y[i] - d) * Z_1[j]
        self.Wo = self.Wo - self.alpha * dWo
        for k in range(self.n_in + 1):
            for j in range(self.n_hidden):
                for i in range(self.n_out):
                    if Z_1[j] >= 0:
                        dWs[j, k] = dWs[j, k] + x[k] * self.Wo[i, j] * (y[i] - d)
        self.Ws = self.Ws - self.alpha * dWs
        return 1 / 2 * np.linalg.norm(y - d)


INPUTS = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
TARGETS = [0, 1, 1, 0]


def nnparity_adapter():
    from nnparity.reference.learner import from_step

    net = OnlineXorNet()
    return from_step(
        net,
        ["Ws", "Wo"],
        lambda X, y: net.train_on(X[0], y[0]),
        sizes=[3, 10, 1],
        activations="relu,sigmoid",
        bias=("folded", "none"),
        loss="half_sse",
        optimizer="sgd",
        lr=0.05,
        batch_size=1,
        data=(INPUTS, TARGETS),
    )


if __name__ == "__main__":
    net = OnlineXorNet()
    for epoch in range(3000):
        loss = sum(net.train_on(np.array(x), d) for x, d in zip(INPUTS, TARGETS, strict=True))
        if epoch % 500 == 0:
            print(epoch, loss)
