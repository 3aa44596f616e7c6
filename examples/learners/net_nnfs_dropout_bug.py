"""nnfs-style layer objects (Neural Networks from Scratch, chapter 15): Layer_Dense,
Activation_ReLU, Layer_Dropout with its binary_mask, softmax with categorical cross-entropy;
whose dropout backward forgets the mask (dinputs = dvalues): the gradient reaches units the
forward dropped. `nnparity check` says implementation_bug: dropout_mask."""

import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons, rng):
        self.weights = 0.1 * rng.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = inputs @ self.weights + self.biases

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = dvalues @ self.weights.T


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class Layer_Dropout:
    def __init__(self, rate):
        self.rate = 1 - rate  # nnfs stores the share kept

    def forward(self, inputs, training=True):
        self.inputs = inputs
        if not training:
            self.output = inputs.copy()
            return
        self.binary_mask = np.random.binomial(1, self.rate, size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()  # the bug: the mask is not applied in backward


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def forward(self, inputs, y_true):
        e = np.exp(inputs - inputs.max(axis=1, keepdims=True))
        self.output = e / e.sum(axis=1, keepdims=True)
        clipped = np.clip(self.output[range(len(inputs)), y_true], 1e-300, 1)
        return np.mean(-np.log(clipped))

    def backward(self, dvalues, y_true):
        n = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(n), y_true] -= 1
        self.dinputs = self.dinputs / n


rng = np.random.RandomState(2)
dense1 = Layer_Dense(4, 16, rng)
activation1 = Activation_ReLU()
dropout1 = Layer_Dropout(0.2)
dense2 = Layer_Dense(16, 3, rng)
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()


def forward_backward(X, y):
    dense1.forward(X)
    activation1.forward(dense1.output)
    dropout1.forward(activation1.output)
    dense2.forward(dropout1.output)
    loss = loss_activation.forward(dense2.output, y)
    loss_activation.backward(loss_activation.output, y)
    dense2.backward(loss_activation.dinputs)
    dropout1.backward(dense2.dinputs)
    activation1.backward(dropout1.dinputs)
    dense1.backward(activation1.dinputs)
    return loss


def predict(X):
    dense1.forward(X)
    activation1.forward(dense1.output)
    dropout1.forward(activation1.output, training=False)
    dense2.forward(dropout1.output)
    loss_activation.forward(dense2.output, np.zeros(len(X), dtype=int))
    return loss_activation.output


X = np.random.RandomState(7).randn(20, 4)
Y = np.argmax(X[:, :3], axis=1)


def nnparity_adapter(**declared):
    from nnparity.reference.learner import from_layers

    return from_layers(
        [dense1, dense2],
        forward_backward,
        forward=predict,
        spec="4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy",
        masks=[dropout1],  # its binary_mask after each pass
        optimizer="sgd",
        lr=0.5,
        data=(X, Y),
        **declared,
    )


if __name__ == "__main__":
    for _ in range(200):
        loss = forward_backward(X, Y)
        for layer in (dense1, dense2):
            layer.weights -= 0.5 * layer.dweights
            layer.biases -= 0.5 * layer.dbiases
    print("loss", loss)
