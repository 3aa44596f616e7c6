"""Style (g), correct: a network kept as one Python float per weight (w1..w6, b1..b3), trained
one sample at a time, as the "neural network from scratch" tutorials write it. nnparity reads
and writes arrays, so a small view class shows the scalars as the arrays W1 (2, 2), b1, W2
(2, 1), b2: a property per array builds it on every read, its setter writes the numbers back.
Declared: sigmoid at both layers, mse, plain SGD at lr 0.1 on batches of one sample.
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class OurNeuralNetwork:
    def __init__(self):
        rng = np.random.RandomState(0)
        self.w1, self.w2, self.w3, self.w4, self.w5, self.w6 = rng.normal(size=6)
        self.b1, self.b2, self.b3 = rng.normal(size=3)

    def feedforward(self, x):
        h1 = sigmoid(self.w1 * x[0] + self.w2 * x[1] + self.b1)
        h2 = sigmoid(self.w3 * x[0] + self.w4 * x[1] + self.b2)
        return sigmoid(self.w5 * h1 + self.w6 * h2 + self.b3)

    def train_one(self, x, y_true, learn_rate=0.1):
        h1 = sigmoid(self.w1 * x[0] + self.w2 * x[1] + self.b1)
        h2 = sigmoid(self.w3 * x[0] + self.w4 * x[1] + self.b2)
        o1 = sigmoid(self.w5 * h1 + self.w6 * h2 + self.b3)
        d_L_d_ypred = -2 * (y_true - o1)
        d_o1 = o1 * (1 - o1)  # sigma'(sum_o1), from the output
        d_h1, d_h2 = h1 * (1 - h1), h2 * (1 - h2)
        d_ypred_d_h1, d_ypred_d_h2 = self.w5 * d_o1, self.w6 * d_o1  # before w5, w6 move
        self.w1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * x[0] * d_h1
        self.w2 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * x[1] * d_h1
        self.b1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1
        self.w3 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * x[0] * d_h2
        self.w4 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * x[1] * d_h2
        self.b2 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2
        self.w5 -= learn_rate * d_L_d_ypred * h1 * d_o1
        self.w6 -= learn_rate * d_L_d_ypred * h2 * d_o1
        self.b3 -= learn_rate * d_L_d_ypred * d_o1


class Arrays:
    """The scalars as arrays, layout (in, out): W1[i, j] is input i's weight into unit j."""

    def __init__(self, net):
        self.net = net

    @property
    def W1(self):
        n = self.net
        return np.array([[n.w1, n.w3], [n.w2, n.w4]])

    @W1.setter
    def W1(self, a):
        n = self.net
        (n.w1, n.w3), (n.w2, n.w4) = np.asarray(a, dtype=float).tolist()

    @property
    def b1(self):
        return np.array([self.net.b1, self.net.b2])

    @b1.setter
    def b1(self, a):
        self.net.b1, self.net.b2 = np.asarray(a, dtype=float).tolist()

    @property
    def W2(self):
        return np.array([[self.net.w5], [self.net.w6]])

    @W2.setter
    def W2(self, a):
        (self.net.w5,), (self.net.w6,) = np.asarray(a, dtype=float).tolist()

    @property
    def b2(self):
        return np.array([self.net.b3])

    @b2.setter
    def b2(self, a):
        (self.net.b3,) = np.asarray(a, dtype=float).tolist()


data = np.array([[-2.0, -1.0], [25.0, 6.0], [17.0, 4.0], [-15.0, -6.0]])
all_y_trues = np.array([1.0, 0.0, 0.0, 1.0])


def nnparity_adapter():
    from nnparity.reference.learner import from_step

    net = OurNeuralNetwork()
    return from_step(
        Arrays(net),
        ["W1", "b1", "W2", "b2"],
        lambda X, y: net.train_one(X[0], y[0]),  # one sample per step (batch_size=1)
        forward=lambda X: np.array([net.feedforward(x) for x in X]),
        sizes=[2, 2, 1],
        activations="sigmoid,sigmoid",
        loss="mse",
        optimizer="sgd",
        lr=0.1,
        batch_size=1,
        data=(data, all_y_trues.reshape(-1, 1)),
    )


if __name__ == "__main__":
    net = OurNeuralNetwork()
    for _epoch in range(1000):
        for x, y in zip(data, all_y_trues, strict=True):
            net.train_one(x, y)
    print([round(float(net.feedforward(x)), 3) for x in data])
