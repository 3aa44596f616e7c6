"""Style (a), correct: a gradient function in the manner of Nielsen's network.py.

Weights are (out, in), biases (out, 1) column vectors, one sample at a time as a column;
``backprop(x, y)`` returns ``(nabla_b, nabla_w)``, two lists with one array per layer, for the
cost 1/2 ||a - y||^2 of that sample. Training averages them over a mini-batch, so the loss is
declared ``half_sse`` with reduction 'mean', and ``per_sample=True`` lets the checker call
``backprop`` once per sample and average, as ``update_mini_batch`` does.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


class Network:
    def __init__(self, sizes, seed=0):
        rng = np.random.RandomState(seed)
        self.sizes = sizes
        self.biases = [rng.randn(n, 1) for n in sizes[1:]]
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.weights = [rng.randn(n_out, n_in) for n_in, n_out in pairs]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights, strict=True):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x, y):
        """Gradients of 1/2 ||a - y||^2 for one column sample x."""
        zs, activations = [], [x]
        for b, w in zip(self.biases, self.weights, strict=True):
            zs.append(w @ activations[-1] + b)
            activations.append(sigmoid(zs[-1]))
        nabla_b = [np.zeros_like(b) for b in self.biases]
        nabla_w = [np.zeros_like(w) for w in self.weights]
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        for layer in range(len(self.weights) - 1, -1, -1):
            nabla_b[layer] = delta
            nabla_w[layer] = delta @ activations[layer].T
            if layer > 0:
                delta = (self.weights[layer].T @ delta) * sigmoid_prime(zs[layer - 1])
        return nabla_b, nabla_w

    def update_mini_batch(self, batch, eta):
        sum_b = [np.zeros_like(b) for b in self.biases]
        sum_w = [np.zeros_like(w) for w in self.weights]
        for x, y in batch:
            nb, nw = self.backprop(x, y)
            sum_b = [s + d for s, d in zip(sum_b, nb, strict=True)]
            sum_w = [s + d for s, d in zip(sum_w, nw, strict=True)]
        self.weights = [w - eta / len(batch) * g for w, g in zip(self.weights, sum_w, strict=True)]
        self.biases = [b - eta / len(batch) * g for b, g in zip(self.biases, sum_b, strict=True)]


rng = np.random.RandomState(3)
X = rng.randn(12, 2)
Y = (X[:, :1] + X[:, 1:] > 0).astype(float)


def nnparity_adapter():
    from nnparity.reference.learner import from_gradients

    net = Network([2, 3, 1])
    return from_gradients(
        net,
        ["weights[0]", "biases[0]", "weights[1]", "biases[1]"],
        lambda x, y: net.backprop(x.T, y.T),
        per_sample=True,
        sizes=[2, 3, 1],
        activations="sigmoid,sigmoid",
        loss="half_sse",
        optimizer="sgd",
        lr=3.0,
        data=(X, Y),
    )
