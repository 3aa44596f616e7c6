"""Style (b), correct: layer objects that keep their gradients, in the manner of the book
"Neural Networks from Scratch". Weights are (in, out), biases (1, out); after ``backward``
every dense layer holds ``dweights`` and ``dbiases``. Softmax and categorical cross-entropy
are one object whose backward gives (softmax - onehot) / N, and ``predict`` returns the
softmax probabilities: declare the last activation ``softmax`` and the loss ``cross_entropy``
(the twin takes the loss on the logits and compares softmax of them with ``predict``).
"""

import numpy as np


class LayerDense:
    def __init__(self, n_inputs, n_neurons, rng):
        self.weights = 0.5 * rng.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = inputs @ self.weights + self.biases

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = dvalues @ self.weights.T


class ActivationReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class SoftmaxCrossEntropy:
    def forward(self, inputs, y_true):
        exp = np.exp(inputs - inputs.max(axis=1, keepdims=True))
        self.output = exp / exp.sum(axis=1, keepdims=True)
        picked = self.output[np.arange(len(inputs)), y_true]
        return -np.mean(np.log(np.clip(picked, 1e-7, 1 - 1e-7)))

    def backward(self, dvalues, y_true):
        n = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[np.arange(n), y_true] -= 1
        self.dinputs = self.dinputs / n


rng = np.random.RandomState(0)
dense1, relu, dense2 = LayerDense(2, 8, rng), ActivationReLU(), LayerDense(8, 3, rng)
head = SoftmaxCrossEntropy()
centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
X = np.vstack([c + 0.3 * rng.randn(6, 2) for c in centres])
Y = np.repeat(np.arange(3), 6)


def forward_backward(X, y):
    dense1.forward(X)
    relu.forward(dense1.output)
    dense2.forward(relu.output)
    loss = head.forward(dense2.output, y)
    head.backward(head.output, y)
    dense2.backward(head.dinputs)
    relu.backward(dense2.dinputs)
    dense1.backward(relu.dinputs)
    return loss


def predict(X):
    dense1.forward(X)
    relu.forward(dense1.output)
    dense2.forward(relu.output)
    exp = np.exp(dense2.output - dense2.output.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def nnparity_adapter():
    from nnparity.reference.learner import from_layers

    return from_layers(
        [dense1, dense2],
        forward_backward,
        forward=predict,
        sizes=[2, 8, 3],
        activations="relu,softmax",
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        data=(X, Y),
    )
