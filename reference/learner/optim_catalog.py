"""The departures from each torch optimizer's update that the variant search tries (keys of
``optim_sim.Sim``'s variants, with what each says), by optimizer name."""

from __future__ import annotations

from .optim_forms import (
    ACC,
    ADAM_FORMS,
    ALPHA,
    CLIP,
    DECAY_SIGN,
    FITTED_ADAM,
    RMS_OWN,
    RMS_SWAP,
    S_ABS,
)
from .optim_sim import T_COUNTS

T_SHIFTS = ("t_ahead", "t_ahead_m", "t_ahead_v", "t_behind", "t_behind_m", "t_behind_v")

PER_NAME = {
    "by_shape",
    "sgdw_l2",
    *T_COUNTS,
}  # simulated on each parameter by its name, not flattened
SHARED = (
    "by_shape",
    "one optimizer state shared by the parameters of the same shape, updated in their order",
)
NO_LR_DECAY = (
    "no_lr_decay",
    "the declared lr schedule not applied: the learning rate stays lr (a step counter that "
    "never advances decays nothing)",
)
TORCH_LR = (
    "torch_lr",
    "the other momentum form under the changing lr than the declared one: the lr outside the "
    "buffer (PyTorch's with a scheduler: b = mu b + g, w -= lr_t b; RMSprop's b = mu b + g/d) "
    "or inside the velocity (nnfs's and Keras's v = mu v - lr_t g; w += v)",
)
NO_STATE = (
    "no_state",
    "the optimizer's state made anew (zeros) at every step, not kept from step to step",
)
DECAY_AFTER = (
    "the weight decay applied to the weights after the step (w *= 1 - lr wd on the updated "
    "weights) instead of before it: every step 1 - lr wd times PyTorch's"
)
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "sgd": [
        ("no_decay", "weight decay left out"),
        ("damp_first", "momentum buffer started at (1 - dampening) g on the first step"),
        ("no_dampening", "dampening left out of the momentum buffer"),
        ("nesterov_flip", "the other momentum form (Nesterov vs classical)"),
        ("ema", "momentum as an average, b = mu b + (1 - mu) g"),
        (
            "mu_flip",
            "the velocity's decay with the wrong sign, v = -mu v - lr g (momentum -mu), where "
            "v = mu v - lr g belongs",
        ),
        (
            "nesterov_sign",
            "Nesterov's look-ahead term with the wrong sign, w += -mu v - lr g (the gradient "
            "minus mu b), where w += mu v - lr g belongs",
        ),
        (
            "nesterov_mu2",
            "Nesterov's look-ahead mu^2 v taken from the velocity already updated, w += mu^2 "
            "v_new - (1 + mu) lr g (Deep Learning from Scratch's Nesterov class), where the "
            "velocity before the update belongs",
        ),
        ("no_momentum", "no momentum: the velocity starts from zero at every step (plain SGD)"),
        TORCH_LR,
        (
            "sgdw",
            "weight decay applied to w outside the momentum (w *= 1 - lr wd; SGDW) "
            "instead of added to g inside it",
        ),
        (
            "sgdw_l2",
            "the L2 term applied to the weights outside the momentum, w = (1 - lr l2) w "
            "+ v (Nielsen's L2 with momentum; SGDW), where PyTorch adds l2 w to g inside it",
        ),
        NO_LR_DECAY,
        CLIP,
        SHARED,
    ],
    "adam": [
        *ADAM_FORMS,
        NO_LR_DECAY,
        NO_STATE,
        ("no_decay", "weight decay left out"),
        ("decoupled", "weight decay decoupled (AdamW's w *= 1 - lr wd) instead of added to g"),
        DECAY_SIGN,
        *FITTED_ADAM,
        CLIP,
        SHARED,
    ],
    "adamw": [
        *ADAM_FORMS,
        NO_LR_DECAY,
        NO_STATE,
        ("no_decay", "weight decay left out"),
        ("coupled", "weight decay added to the gradient (Adam's L2) instead of decoupled"),
        DECAY_SIGN,
        ("decay_after", DECAY_AFTER),
        (
            "decay_no_lr",
            "the decoupled weight decay without the learning rate: w *= 1 - wd where "
            "w *= 1 - lr wd belongs",
        ),
        *FITTED_ADAM,
        CLIP,
        SHARED,
    ],
    "rmsprop": [
        ("eps_inside", "eps inside the square root: sqrt(s + eps)"),
        NO_LR_DECAY,
        NO_STATE,
        ("no_decay", "weight decay left out"),
        ("rms_bc", "s divided by a bias correction 1 - alpha^t, as Adam's v (RMSprop has none)"),
        TORCH_LR,
        (
            "rms_bc_behind",
            "s divided by a bias correction 1 - alpha^t taken at t - 1 (0 at the first step: "
            "s_hat is inf and the step 0), as Adam's v; RMSprop has none",
        ),
        FITTED_ADAM[0],
        ALPHA,
        RMS_OWN,
        RMS_SWAP,
        S_ABS,
        CLIP,
        SHARED,
    ],
    "adagrad": [
        ("eps_inside", "eps inside the square root: sqrt(S + eps)"),
        NO_LR_DECAY,
        NO_STATE,
        ("no_decay", "weight decay left out"),
        FITTED_ADAM[0],
        ACC,
        S_ABS,
        CLIP,
        SHARED,
    ],
}
