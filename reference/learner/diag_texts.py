"""The texts of ``diagnose``'s findings: each derivative's form as a learner writes it, and
the fix of each derivative and gradient-form candidate."""

PRIME = {  # the declared activation's derivative, as a learner writes it
    "sigmoid": "a (1 - a) with a = sigmoid(z)",
    "tanh": "1 - a^2 with a = tanh(z)",
    "relu": "(z > 0)",
    "leaky_relu": "1 where z > 0, else the slope",
    "identity": "1",
}

PART = " (the data loss's part: the declared L2 term taken off both; the table's c has it)"
DERIV_HINT = {
    "softmax_axis": "normalise over the classes: e = exp(z - z.max(axis=1, keepdims=True)); "
    "p = e / e.sum(axis=1, keepdims=True)",
    "derivative_of_output": "multiply by f'(z) exactly once, evaluated at the pre-activation z; "
    "if your backward already reads the cached z, the cache was overwritten by f(z) in place "
    "(np.tanh(z, out=z), z[z < 0] = 0 on the cached array, an activation layer returning its "
    "input modified): compute f into a new array",
    "wrong_activation_derivative": "use the derivative of the activation this layer applies",
    "wrong_cached_activation": "take each layer's derivative (or mask) at its own cached z or a: "
    "layer l's backward reads layer l's cache",
    "broadcast_shape": "give the target the output's shape before subtracting: y = "
    "y.reshape(-1, 1) (or out[:, 0] - y); print out.shape and y.shape where they meet",
    "softmax_jacobian": "softmax couples the classes: dz = a * (da - (da * a).sum(axis=1, "
    "keepdims=True)), not da * a * (1 - a)",
    "softmax_diagflat": "softmax couples the classes: its Jacobian is diag(a) - a a^T (nnfs: "
    "np.diagflat(s) - np.dot(s, s.T)), so dz = a * (da - (da * a).sum(axis=1, keepdims=True)), "
    "not da * a",
    "softmax_twice": "under cross-entropy dz = (p - y) / N already holds the softmax's "
    "derivative: use it as the output layer's dz, with no softmax backward after it",
    "rows_mispaired": "index each row at its own class: probs[np.arange(N), y] in the loss "
    "and dscores[np.arange(N), y] -= 1 in its gradient (probs[:, y] takes every row at every "
    "sample's class)",
    "target_missing": "subtract the target: dz = (p - y) / N, y one-hot for classes "
    "(dscores[np.arange(N), y] -= 1 before dividing by N)",
}
CANCELLED = (
    "(a - y) / N is already dL/dz for a sigmoid output under binary cross-entropy (the loss's "
    "1 / (a (1 - a)) cancels sigma'(z)): remove the a * (1 - a) factor from the output "
    "layer's dz"
)


def cancels(spec: object, layer: int, key: str) -> bool:
    """Whether ``key`` ("twice") at the output layer is sigma' written after (a - y) under
    binary cross-entropy, whose dL/dz (a - y) holds it already (review s24b F4: "multiply by
    f'(z) exactly once" was the code as written)."""
    acts, loss = spec.activations, spec.loss.name  # type: ignore[attr-defined]
    return key == "twice" and layer == len(acts) and acts[-1].name == "sigmoid" and loss == "bce"


FORM_HINT = {
    "transposed": "transpose it back: dW = a_prev.T @ dz has the weight's own (in, out) shape",
    "transposed out_in": "transpose it back: dW = dz @ a_prev.T (samples as columns) has the "
    "weight's own (out, in) shape",
    "wrong_cached_activation": "build dW from the layer's input: dW_l = a_{l-1}.T @ dz_l",
    "wrong_cached_activation out_in": "build dW from the layer's input: dW_l = dz_l @ "
    "a_{l-1}.T (samples as columns)",
    "above": "take each layer's bias gradient from its own dz: db_l = dz_l.sum(axis=0), not "
    "the layer above's",
    "bias_reduction": "db = dz.sum(axis=0): one entry per unit, summed over the batch (with "
    "the same scaling as your dW, a 1/m included where it has one)",
    "bias_reduction out_in": "db = dZ.sum(axis=1, keepdims=True): one entry per unit, summed "
    "over the batch (samples as columns; with the same scaling as your dW, a 1/m included "
    "where it has one)",
    "inplace_mutation": "compute the derivative into a new array (mask = (a > 0) * 1.0), "
    "never into the cached activation, or build dW before you overwrite it",
    "stale_input": "cache a layer's input in every forward pass (self.x = x), never only the "
    "first time, and set a stored X from the adapter's arguments",
}

TOTAL_ZERO = (  # a sum over the units, of a layer whose samples' dz sum to 0 over them
    " (each sample's dz sums to 0 over the units at this layer, as at a softmax output under "
    "cross-entropy, so that sum is 0)"
)


LAYER_HINTS = {  # the layered path's, by the kind of layer that parts first
    "batchnorm": "batchnorm's backward: dgamma = sum(dy * xhat), dbeta = sum(dy), and dx with the "
    "terms through the batch mean and variance (layer_check(..., layer='batchnorm'))",
    "dense": "the layer's backward, or the gradient reaching it from the layer above "
    "(check the layers above it one at a time with check_layers)",
    "conv": "conv's backward (dw, db, and dx for the layer below): check it with "
    "layer_check(..., layer='conv')",
}
