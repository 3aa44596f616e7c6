"""eriklindernoren/ML-From-Scratch style (mlfromscratch/deep_learning), reproduced from memory by a
reviewer (s49): its NeuralNetwork of Dense layers (W, w0) and optimizers, the update inside
backward_pass; ``OPT``, ``LOSS`` and ``DECL`` are set by the tests before the adapter is made."""

import copy
import math

import numpy as np

OPT = "adagrad"  # sgd | sgdmom | adam | rmsprop | adagrad
LOSS = "ce"  # ce | square
SLIP = None


class StochasticGradientDescent:
    def __init__(self, learning_rate=0.01, momentum=0):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.w_updt = None

    def update(self, w, grad_wrt_w):
        if self.w_updt is None:
            self.w_updt = np.zeros(np.shape(w))
        self.w_updt = self.momentum * self.w_updt + (1 - self.momentum) * grad_wrt_w
        return w - self.learning_rate * self.w_updt


class Adam:
    def __init__(self, learning_rate=0.001, b1=0.9, b2=0.999):
        self.learning_rate = learning_rate
        self.eps = 1e-8
        self.m = None
        self.v = None
        self.b1 = b1
        self.b2 = b2

    def update(self, w, grad_wrt_w):
        if self.m is None:
            self.m = np.zeros(np.shape(grad_wrt_w))
            self.v = np.zeros(np.shape(grad_wrt_w))
        self.m = self.b1 * self.m + (1 - self.b1) * grad_wrt_w
        self.v = self.b2 * self.v + (1 - self.b2) * np.power(grad_wrt_w, 2)
        m_hat = self.m / (1 - self.b1)
        v_hat = self.v / (1 - self.b2)
        self.w_updt = self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
        return w - self.w_updt


class RMSprop:
    def __init__(self, learning_rate=0.01, rho=0.9):
        self.learning_rate = learning_rate
        self.Eg = None
        self.eps = 1e-8
        self.rho = rho

    def update(self, w, grad_wrt_w):
        if self.Eg is None:
            self.Eg = np.zeros(np.shape(grad_wrt_w))
        self.Eg = self.rho * self.Eg + (1 - self.rho) * np.power(grad_wrt_w, 2)
        return w - self.learning_rate * grad_wrt_w / np.sqrt(self.Eg + self.eps)


class Adagrad:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate
        self.G = None
        self.eps = 1e-8

    def update(self, w, grad_wrt_w):
        if self.G is None:
            self.G = np.zeros(np.shape(w))
        self.G += np.power(grad_wrt_w, 2)
        return w - self.learning_rate * grad_wrt_w / np.sqrt(self.G + self.eps)


class Loss:
    def acc(self, y, y_pred):
        return 0


class SquareLoss(Loss):
    def loss(self, y, y_pred):
        return 0.5 * np.power((y - y_pred), 2)

    def gradient(self, y, y_pred):
        return -(y - y_pred)


class CrossEntropy(Loss):
    def loss(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return -y * np.log(p) - (1 - y) * np.log(1 - p)

    def acc(self, y, p):
        return np.mean(np.argmax(y, axis=1) == np.argmax(p, axis=1))

    def gradient(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return -(y / p) + (1 - y) / (1 - p)


class Sigmoid:
    def __call__(self, x):
        return 1 / (1 + np.exp(-x))

    def gradient(self, x):
        return self.__call__(x) * (1 - self.__call__(x))


class Softmax:
    def __call__(self, x):
        e_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e_x / np.sum(e_x, axis=-1, keepdims=True)

    def gradient(self, x):
        p = self.__call__(x)
        return p * (1 - p)


class TanH:
    def __call__(self, x):
        return 2 / (1 + np.exp(-2 * x)) - 1

    def gradient(self, x):
        return 1 - np.power(self.__call__(x), 2)


class ReLU:
    def __call__(self, x):
        return np.where(x >= 0, x, 0)

    def gradient(self, x):
        return np.where(x >= 0, 1, 0)


activation_functions = {"relu": ReLU, "sigmoid": Sigmoid, "softmax": Softmax, "tanh": TanH}


class Layer:
    def set_input_shape(self, shape):
        self.input_shape = shape


class Dense(Layer):
    def __init__(self, n_units, input_shape=None):
        self.layer_input = None
        self.input_shape = input_shape
        self.n_units = n_units
        self.trainable = True
        self.W = None
        self.w0 = None

    def initialize(self, optimizer):
        limit = 1 / math.sqrt(self.input_shape[0])
        self.W = np.random.uniform(-limit, limit, (self.input_shape[0], self.n_units))
        self.w0 = np.zeros((1, self.n_units))
        self.W_opt = copy.copy(optimizer)
        self.w0_opt = copy.copy(optimizer)

    def forward_pass(self, X, training=True):
        self.layer_input = X
        return X.dot(self.W) + self.w0

    def backward_pass(self, accum_grad):
        W = self.W
        if self.trainable:
            grad_w = self.layer_input.T.dot(accum_grad)
            grad_w0 = np.sum(accum_grad, axis=0, keepdims=True)
            self.W = self.W_opt.update(self.W, grad_w)
            self.w0 = self.w0_opt.update(self.w0, grad_w0)
        if SLIP == "updated_W":
            W = self.W
        accum_grad = accum_grad.dot(W.T)
        return accum_grad

    def output_shape(self):
        return (self.n_units,)


class Activation(Layer):
    def __init__(self, name):
        self.activation_name = name
        self.activation_func = activation_functions[name]()
        self.trainable = True

    def forward_pass(self, X, training=True):
        self.layer_input = X
        return self.activation_func(X)

    def backward_pass(self, accum_grad):
        return accum_grad * self.activation_func.gradient(self.layer_input)

    def output_shape(self):
        return self.input_shape


class NeuralNetwork:
    def __init__(self, optimizer, loss, validation_data=None):
        self.optimizer = optimizer
        self.layers = []
        self.loss_function = loss()

    def add(self, layer):
        if self.layers:
            layer.set_input_shape(shape=self.layers[-1].output_shape())
        if hasattr(layer, "initialize"):
            layer.initialize(optimizer=self.optimizer)
        self.layers.append(layer)

    def train_on_batch(self, X, y):
        y_pred = self._forward_pass(X)
        loss = np.mean(self.loss_function.loss(y, y_pred))
        acc = self.loss_function.acc(y, y_pred)
        loss_grad = self.loss_function.gradient(y, y_pred)
        self._backward_pass(loss_grad=loss_grad)
        return loss, acc

    def _forward_pass(self, X, training=True):
        layer_output = X
        for layer in self.layers:
            layer_output = layer.forward_pass(layer_output, training)
        return layer_output

    def _backward_pass(self, loss_grad):
        for layer in reversed(self.layers):
            loss_grad = layer.backward_pass(loss_grad)

    def predict(self, X):
        return self._forward_pass(X, training=False)


np.random.seed(1)
centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
X = np.vstack([c + 0.5 * np.random.randn(8, 2) for c in centres])
labels = np.repeat(np.arange(3), 8)


def to_categorical(x, n_col=None):
    if not n_col:
        n_col = np.amax(x) + 1
    one_hot = np.zeros((x.shape[0], n_col))
    one_hot[np.arange(x.shape[0]), x] = 1
    return one_hot


Y = to_categorical(labels)

LR = {"sgd": 0.01, "sgdmom": 0.01, "adam": 0.01, "rmsprop": 0.01, "adagrad": 0.05}[OPT]
optimizer = {
    "sgd": lambda: StochasticGradientDescent(LR),
    "sgdmom": lambda: StochasticGradientDescent(LR, momentum=0.9),
    "adam": lambda: Adam(LR),
    "rmsprop": lambda: RMSprop(LR),
    "adagrad": lambda: Adagrad(LR),
}[OPT]()
clf = NeuralNetwork(optimizer=optimizer, loss=CrossEntropy if LOSS == "ce" else SquareLoss)
clf.add(Dense(8, input_shape=(2,)))
clf.add(Activation("tanh"))
clf.add(Dense(3))
clf.add(Activation("softmax" if LOSS == "ce" else "sigmoid"))

DECL = {
    "sgd": dict(optimizer="sgd", lr=LR),
    "sgdmom": dict(optimizer="sgd(momentum=0.9)", lr=LR * (1 - 0.9)),
    "adam": dict(optimizer="adam", lr=LR),
    "rmsprop": dict(optimizer="rmsprop(alpha=0.9)", lr=LR),
    "adagrad": dict(optimizer="adagrad", lr=LR),
}[OPT]


def nnparity_adapter():
    from nnparity.reference.learner import from_step

    return from_step(
        clf,
        ["layers[0].W", "layers[0].w0", "layers[2].W", "layers[2].w0"],
        clf.train_on_batch,
        forward=clf.predict,
        sizes=[2, 8, 3],
        activations="tanh,softmax" if LOSS == "ce" else "tanh,sigmoid",
        loss="cross_entropy" if LOSS == "ce" else "half_sse",
        reduction="sum",
        data=(X, Y),
        **DECL,
    )
