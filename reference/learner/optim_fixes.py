"""The fix said for each optimizer departure ``optim_variants`` names (a fitted one's a format
of ``value`` and ``declared``)."""

from .optim_sim import T_COUNTS
from .result import Finding

VARIANT_FIX = {
    "amsgrad_flip": "declare amsgrad the way your update does it (amsgrad=true keeps v_max = "
    "max(v_max, v) and divides by its root), or change the update",
    "no_bias_correction": "divide m by 1 - b1^t and v by 1 - b2^t (bias correction)",
    "bc_pow": "divide m by 1 - np.power(beta1, t) and v by 1 - np.power(beta2, t): the power "
    "of beta, subtracted from 1",
    "eps_inside": "add eps after the square root: sqrt(v) + eps (v_hat under Adam, the "
    "average of g^2 under RMSprop, the sum under Adagrad), as torch.optim does",
    "no_decay": "apply the declared weight_decay",
    "decoupled": "add wd * w to the gradient (Adam's L2), or declare optimizer='adamw'",
    "coupled": "decay the weights apart from the gradient: w *= 1 - lr * wd (AdamW)",
    "decay_after": "decay the weights before the step, as torch.optim.AdamW does: w *= 1 - lr "
    "* wd, then w -= lr * m_hat / (sqrt(v_hat) + eps)",
    "damp_first": "start the momentum buffer at g itself on the first step",
    "no_dampening": "scale the gradient by (1 - dampening) in the buffer, or declare dampening=0",
    "nesterov_flip": "use the declared momentum form (or declare nesterov the other way)",
    "decay_no_lr": "scale the decay by the learning rate: w -= lr * wd * w (PyTorch's AdamW)",
    "bc_in_place": "keep m and v as the raw moving averages: compute m_hat = m / (1 - b1^t) "
    "and v_hat into new arrays, never back into m and v",
    "mu_flip": "decay the velocity by +mu: v = mu v - lr g (PyTorch's b = mu b + g)",
    "nesterov_mu2": "move w before v: w += mu^2 v - (1 + mu) lr g with the velocity of the "
    "step before, then v = mu v - lr g (PyTorch's b = mu b + g; w -= lr (g + mu b))",
    "nesterov_sign": "add the look-ahead: w += mu v - lr g with the new v (PyTorch's g + mu b)",
    "sgdw": "add wd * w to the gradient before the momentum (torch.optim.SGD's weight_decay); "
    "without momentum the two forms take the same steps",
    "sgdw_l2": "add l2 * w to the gradient before the momentum (PyTorch's SGD with "
    "weight_decay=l2 does); without momentum the two forms take the same steps",
    "ema": "accumulate b = mu b + g (PyTorch's SGD), or declare dampening=mu",
    "torch_lr": "both forms are right (they take the same steps at a constant lr): declare "
    "yours, lr_outside=true for PyTorch's (b = mu b + g; w -= lr_t b), false (the "
    "default) for nnfs's and Keras's (v = mu v - lr_t g; w += v)",
    "no_momentum": "keep the velocity from step to step: create it once (zeros) before "
    "training, not inside the step",
    "no_lr_decay": "decay the learning rate as declared, lr / (1 + lr_decay t) after t steps "
    "(nnfs: self.iterations += 1 in post_update_params), or drop lr_decay from the declaration",
    "no_state": "create the optimizer's state once (zeros) before training and keep it from "
    "step to step: a hasattr check must test the very name it sets (nnfs's "
    "layer.weight_cache, not layer.weight_caches)",
    "by_shape": "keep one state per parameter: key it by the parameter's name or index, not its "
    "shape, and create each buffer on its own (np.zeros_like per parameter, never "
    "[np.zeros(...)] * L, whose entries are one array)",
    "no_bc_v": "divide v by 1 - b2^t as well as m by 1 - b1^t (bias correction of both)",
    "no_bc_m": "divide m by 1 - b1^t as well as v by 1 - b2^t (bias correction of both)",
    "t_ahead": "count t from 1 at the first step: increment t before the corrections, once per "
    "step, from t = 0",
    "t_ahead_m": "divide m by 1 - b1^t with the step's own t (counted from 1), as v",
    "t_ahead_v": "divide v by 1 - b2^t with the step's own t (counted from 1), as m",
    "rms_bc": "leave s uncorrected: w -= lr * g / (sqrt(s) + eps) (torch.optim.RMSprop)",
    "rms_bc_behind": "leave s uncorrected: w -= lr * g / (sqrt(s) + eps) (torch.optim.RMSprop; "
    "a correction at t - 1 also divides by 0 at the first step)",
    "t_behind": "increment t before the corrections (t = 1 at the first step: nnfs's "
    "self.iterations + 1), so 1 - b^t is never 0",
    "t_behind_m": "divide m by 1 - b1^t with the step's own t (t = 1 at the first step), as v",
    "t_behind_v": "divide v by 1 - b2^t with the step's own t (t = 1 at the first step: nnfs's "
    "self.iterations + 1), as m",
    "t_frozen": "increment t once per step (self.t += 1 before the corrections)",
    "t_epoch": "increment t once per step, inside the loop over the mini-batches (t = t + 1 "
    "beside the update), not once per epoch",
    "g_numerator": "step with m_hat, the average of the gradients: w -= lr * m_hat / "
    "(sqrt(v_hat) + eps)",
    "betas_swapped": "give beta1 (0.9 by default) to m's average and correction and beta2 "
    "(0.999) to v's: hand the betas in the order (beta1, beta2)",
    "mv_swapped": "m_hat in the numerator, v_hat under the root: w -= lr * m_hat / (sqrt(v_hat) "
    "+ eps)",
    **dict.fromkeys(
        (*T_COUNTS, "t_twice"),
        "increment t once per step, before any parameter's update (nnfs: in "
        "pre_update_params), not inside the update each layer or parameter calls",
    ),
    "own_m": "the new gradient's weight in m's average is 1 - beta1: m = beta1 m + (1 - beta1) g",
    "own_v": "the new gradient's weight in v's average is 1 - beta2: v = beta2 v + (1 - beta2) g^2",
    "swap_m": "the old average keeps beta1 and the new gradient takes 1 - beta1: m = beta1 m + "
    "(1 - beta1) g",
    "swap_v": "the old average keeps its beta (beta2, RMSprop's alpha) and the new squared "
    "gradient takes 1 - beta: v = beta2 v + (1 - beta2) g**2",
    "no_sqrt": "divide by the square root of v_hat: m_hat / (np.sqrt(v_hat) + eps)",
    "decay_sign": "add the decay with a plus sign: g + weight_decay * w (AdamW: w *= 1 - lr * "
    "weight_decay)",
    "v_abs": "average (or sum) the squared gradients, g * g, not their absolute values (nor g "
    "unsquared): "
    "v = beta2 v + (1 - beta2) g**2 (RMSprop's s alike, Adagrad's S += g**2)",
    "rms_own": "the new gradient's weight in s's average is 1 - alpha: s = alpha s + "
    "(1 - alpha) g^2",
    "eps_hat": "a valid form (Kingma & Ba, section 2) that torch.optim.Adam does not use: it "
    "equals PyTorch's with eps = eps_hat * sqrt(1 - b2^t), so the two part where sqrt(v) is "
    "near eps; to match PyTorch, add eps after the correction: m_hat / (sqrt(v_hat) + eps)",
    "eps_value": "use the declared eps = {declared:.3g}, or declare eps={value:.3g}",
    "bc2_beta": "use the same beta2 ({declared:g}) in v's bias correction 1 - beta2^t as in "
    "its moving average",
    "bc1_beta": "use the same beta1 ({declared:g}) in m's bias correction 1 - beta1^t as in "
    "its moving average",
    "avg1_beta": "use the same beta1 ({declared:g}) in m's moving average as in its bias "
    "correction 1 - beta1^t",
    "avg2_beta": "use the same beta2 ({declared:g}) in v's moving average as in its bias "
    "correction 1 - beta2^t",
    "beta1_value": "use the declared beta1 = {declared:g}, or declare beta1={value:.6g}",
    "beta2_value": "use the declared beta2 = {declared:g}, or declare beta2={value:.6g}",
    "alpha_value": "use the declared alpha = {declared:g}, or declare alpha={value:.6g}",
    "acc_value": "start the accumulator at the declared {declared:g}, or declare "
    "initial_accumulator_value={value:.3g} (Keras's and TensorFlow's Adagrad take 0.1); where "
    "your eps sits inside the root (optax's g / sqrt(S + eps)), add it after the root, "
    "g / (sqrt(S) + eps), as PyTorch's Adagrad does, or keep it and declare that value",
    "clip_value": "if you clip on purpose, declare clip_grad_value={value:.3g} (the twin then "
    "clips alike, as torch.nn.utils.clip_grad_value_); if not, remove the clip",
}


EPS_IN_SQRT = {  # optimizers whose eps inside the root is a library's own form, not a slip
    "rmsprop": "optax's rmsprop (eps_in_sqrt=True, its default) and TF1's RMSPropOptimizer",
    "adagrad": "optax's adagrad and TensorFlow's",
}


def eps_inside_form(name: str, labels: tuple, step: int, said: str) -> Finding:
    """The note for eps inside the root of RMSprop or Adagrad alone: another library's form
    (CONVENTIONS.md, optax), parting from PyTorch's only where the root is near eps (review
    s36 F3: ML-From-Scratch's RMSprop and Adagrad were bugs). Adam's stays a departure
    (LEARNER_BUGS.md 11): no library's Adam takes it."""
    return Finding(
        "eps_inside_form",
        labels,
        None,
        step,
        f"{said}: {EPS_IN_SQRT[name]}, where PyTorch's adds eps after the root; the two part "
        "only where the root is near eps",
        f"nothing to fix: a valid form of {name}; to match PyTorch to the digit, add eps after "
        "the root: g / (sqrt(s) + eps)",
        "note",
    )
