"""nnfs-style layers with a square weight, dense(8) -> dense(8): dense-relu-dropout-dense-relu-
dense with softmax/CE, the nnfs optimizer as the step (review s43, Part B). ``dropout1.rate`` is the
share kept, 1 - rate (setting it to the rate itself is the planted bug)."""

import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons, rng):
        self.weights = 0.3 * rng.randn(n_inputs, n_neurons)
        self.biases = 0.1 * rng.randn(1, n_neurons)

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)  # @DW
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)  # @DB
        self.dinputs = np.dot(dvalues, self.weights.T)  # @DX


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()  # @RC
        self.dinputs[self.inputs <= 0] = 0  # @RM


class Layer_Dropout:
    def __init__(self, rate):
        self.rate = 1 - rate  # @DR

    def forward(self, inputs, training=True):
        self.inputs = inputs
        if not training:
            self.output = inputs.copy()
            return
        self.binary_mask = np.random.binomial(1, self.rate, size=inputs.shape) / self.rate  # @DM
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        self.dinputs = dvalues * self.binary_mask  # @DBK


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def forward(self, inputs, y_true):
        e = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))  # @SM
        self.output = e / np.sum(e, axis=1, keepdims=True)  # @SS
        clipped = np.clip(self.output[range(len(inputs)), y_true], 1e-7, 1 - 1e-7)
        return np.mean(-np.log(clipped))

    def backward(self, dvalues, y_true):
        n = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(n), y_true] -= 1  # @ST
        self.dinputs = self.dinputs / n  # @SN


class Optimizer_SGD:
    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (
                1.0 / (1.0 + self.decay * self.iterations)
            )

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, "weight_momentums"):
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)
            weight_updates = (
                self.momentum * layer.weight_momentums - self.current_learning_rate * layer.dweights
            )
            layer.weight_momentums = weight_updates
            bias_updates = (
                self.momentum * layer.bias_momentums - self.current_learning_rate * layer.dbiases
            )
            layer.bias_momentums = bias_updates  # @BM
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases
        layer.weights += weight_updates
        layer.biases += bias_updates

    def post_update_params(self):
        self.iterations += 1


rng = np.random.RandomState(1)
np.random.seed(0)
dense1 = Layer_Dense(4, 8, rng)
activation1 = Activation_ReLU()
dropout1 = Layer_Dropout(0.1)
dense2 = Layer_Dense(8, 8, rng)
activation2 = Activation_ReLU()
dense3 = Layer_Dense(8, 3, rng)
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()
optimizer = Optimizer_SGD(learning_rate=0.5, decay=0.01, momentum=0.9)
LAYERS = [dense1, dense2, dense3]

X = np.random.RandomState(7).randn(24, 4)
Y = np.argmax(X[:, :3] + 0.5 * X[:, 3:4], axis=1)


def forward_backward(X, y):
    dense1.forward(X)
    activation1.forward(dense1.output)
    dropout1.forward(activation1.output)
    dense2.forward(dropout1.output)
    activation2.forward(dense2.output)
    dense3.forward(activation2.output)
    loss = loss_activation.forward(dense3.output, y)
    loss_activation.backward(loss_activation.output, y)
    dense3.backward(loss_activation.dinputs)
    activation2.backward(dense3.dinputs)
    dense2.backward(activation2.dinputs)
    dropout1.backward(dense2.dinputs)
    activation1.backward(dropout1.dinputs)
    dense1.backward(activation1.dinputs)
    return loss


def update(X, y):
    optimizer.pre_update_params()
    for layer in LAYERS:
        optimizer.update_params(layer)
    optimizer.post_update_params()  # @PU


def predict(X):
    dense1.forward(X)
    activation1.forward(dense1.output)
    dropout1.forward(activation1.output, training=False)
    dense2.forward(dropout1.output)
    activation2.forward(dense2.output)
    dense3.forward(activation2.output)
    loss_activation.forward(dense3.output, np.zeros(len(X), dtype=int))
    return loss_activation.output


def nnparity_adapter():
    from nnparity.reference.learner import from_layers

    return from_layers(
        LAYERS,
        forward_backward,
        forward=predict,
        step=update,
        spec="4 dense(8) relu dropout(0.1) dense(8) relu dense(3) loss=cross_entropy",
        masks=[dropout1],
        optimizer="sgd(momentum=0.9,lr_decay=0.01)",
        lr=0.5,
        batch_size=8,
        data=(X, Y),
    )
