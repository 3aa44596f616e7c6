"""Style (e), correct: a params dict and ``loss(X, y) -> (loss, grads)``, in the manner of
CS231n's two-layer net. ``model.params`` holds W1 (D, H), b1, W2 (H, C), b2; the loss is the
softmax cross-entropy averaged over the batch (``cross_entropy`` on logits); ``loss(X)``
without labels returns the scores, which the checker compares too.
"""

import numpy as np


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=0.3, seed=0):
        rng = np.random.RandomState(seed)
        self.params = {
            "W1": weight_scale * rng.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        p = self.params
        hidden = np.maximum(0, X @ p["W1"] + p["b1"])
        scores = hidden @ p["W2"] + p["b2"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        n = X.shape[0]
        loss = -log_probs[np.arange(n), y].mean()
        dscores = np.exp(log_probs)
        dscores[np.arange(n), y] -= 1
        dscores /= n
        grads = {"W2": hidden.T @ dscores, "b2": dscores.sum(axis=0)}
        dhidden = dscores @ p["W2"].T
        dhidden[hidden <= 0] = 0
        grads["W1"] = X.T @ dhidden
        grads["b1"] = dhidden.sum(axis=0)
        return loss, grads


rng = np.random.RandomState(1)
X = rng.randn(15, 4)
Y = np.argmax(X[:, :3], axis=1)


def nnparity_adapter():
    from nnparity.reference.learner import from_loss

    model = TwoLayerNet(4, 10, 3)
    return from_loss(
        model.params,
        model.loss,
        forward=model.loss,
        sizes=[4, 10, 3],
        activations="relu,identity",
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.5,
        data=(X, Y),
    )
