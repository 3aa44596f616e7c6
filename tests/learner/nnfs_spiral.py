"""The nnfs book's spiral (3 classes x 100, noise 0.2 as its spiral_data), 2-64-3
relu/softmax under Adam lr=0.05, written as the book writes it (review s59d F1): correct code.
Its arms overlap a little and repeat the centre point, so the training is the data's
(contradictory, noisy targets); units that die during the run are no cause a run shows."""

import numpy as np

np.random.seed(0)


def spiral_data(samples, classes):
    X = np.zeros((samples * classes, 2))
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        ix = range(samples * class_number, samples * (class_number + 1))
        r = np.linspace(0.0, 1, samples)
        t = (
            np.linspace(class_number * 4, (class_number + 1) * 4, samples)
            + np.random.randn(samples) * 0.2
        )
        X[ix] = np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]
        y[ix] = class_number
    return X, y


X, y = spiral_data(100, 3)


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class Softmax_CCE:
    def forward(self, inputs, y_true):
        e = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = e / np.sum(e, axis=1, keepdims=True)
        c = np.clip(self.output, 1e-7, 1 - 1e-7)
        return np.mean(-np.log(c[range(len(c)), y_true]))

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


dense1 = Layer_Dense(2, 64)
act1 = Activation_ReLU()
dense2 = Layer_Dense(64, 3)
loss_act = Softmax_CCE()


def predict(X):
    dense1.forward(X)
    act1.forward(dense1.output)
    dense2.forward(act1.output)
    e = np.exp(dense2.output - dense2.output.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def forward_backward(X, y):
    dense1.forward(X)
    act1.forward(dense1.output)
    dense2.forward(act1.output)
    loss = loss_act.forward(dense2.output, y)
    loss_act.backward(loss_act.output, y)
    dense2.backward(loss_act.dinputs)
    act1.backward(dense2.dinputs)
    dense1.backward(act1.dinputs)
    return loss


def nnparity_adapter():
    from nnparity.reference.learner import from_layers

    return from_layers(
        [dense1, dense2],
        forward_backward,
        forward=predict,
        sizes=[2, 64, 3],
        activations="relu,softmax",
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        data=(X, y),
    )
