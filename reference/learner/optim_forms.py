"""The labels of the optimizer departures ``optim_variants`` simulates: Adam's forms and the
departures with a fitted value (each label a format of ``value`` and ``declared``)."""

FITTED_ADAM = [  # departures with a value, fitted (labels are formats of value, declared)
    ("eps_value", "eps = {value:.3g} where {declared:.3g} is declared"),
    (
        "bc2_beta",
        "beta2 = {value:.6g} in v's bias correction 1 - beta2^t ({declared:g} in its average)",
    ),
    (
        "bc1_beta",
        "beta1 = {value:.6g} in m's bias correction 1 - beta1^t ({declared:g} in its average)",
    ),
    (
        "avg1_beta",
        "beta1 = {value:.6g} in m's moving average ({declared:g} in its bias correction)",
    ),
    (
        "avg2_beta",
        "beta2 = {value:.6g} in v's moving average ({declared:g} in its bias correction)",
    ),
    (
        "beta1_value",
        "beta1 = {value:.6g} where {declared:g} is declared (in m's average and its correction)",
    ),
    (
        "beta2_value",
        "beta2 = {value:.6g} where {declared:g} is declared (in v's average and its correction)",
    ),
]
S_ABS = (  # of RMSprop's s and Adagrad's S (review s28: Adam's v over |g| unexplained)
    "v_abs",
    "the squared gradients' sum or average taken over |g| where g^2 belongs "
    "(s = a s + (1 - a) |g|, S += |g|)",
)
RMS_SWAP = ("swap_v", "s's moving average with its weights swapped: s = (1 - a) s + a g^2")
DECAY_SIGN = (
    "decay_sign",
    "the weight decay with the wrong sign: g - wd w added where g + wd w belongs (AdamW's "
    "w *= 1 + lr wd for 1 - lr wd)",
)
RMS_OWN = ("rms_own", "s's moving average written s = a s + a g^2, alpha where 1 - alpha belongs")
ACC = (  # Keras's and TensorFlow's Adagrad start S at 0.1 (review s19a)
    "acc_value",
    "S starting at {value:.3g} where {declared:g} is declared (initial_accumulator_value), "
    "or, the same steps, {value:.3g} added inside the root, g / sqrt(S + {value:.3g})",
)
ALPHA = ("alpha_value", "alpha = {value:.6g} where {declared:g} is declared (s's average)")
ADAM_FORMS = [  # departures of Adam's (and AdamW's) moments and corrections
    (
        "bc_in_place",
        "the bias-corrected moments written back into m and v (m /= 1 - b1^t in place), so "
        "each step's averages go on from m_hat and v_hat",
    ),
    ("own_m", "m's moving average written m = b1 m + b1 g, beta1 where 1 - beta1 belongs"),
    ("own_v", "v's moving average written v = b2 v + b2 g^2, beta2 where 1 - beta2 belongs"),
    (
        "v_abs",
        "v's moving average taken over |g| where g^2 belongs: v = b2 v + (1 - b2) |g| "
        "(or over g itself, where g stays positive)",
    ),
    ("swap_m", "m's moving average with its weights swapped: m = (1 - b1) m + b1 g"),
    ("swap_v", "v's moving average with its weights swapped: v = (1 - b2) v + b2 g^2"),
    ("no_sqrt", "v_hat where its square root belongs: m_hat / (v_hat + eps)"),
    (
        "amsgrad_flip",
        "AMSGrad's running maximum of v where plain Adam is declared, or plain Adam where "
        "amsgrad=true is",
    ),
    ("no_bias_correction", "no bias correction (m and v used raw)"),
    ("eps_inside", "eps inside the square root: sqrt(v_hat + eps)"),
    ("no_bc_v", "bias correction on m only (v used raw)"),
    ("no_bc_m", "bias correction on v only (m used raw)"),
    ("t_ahead", "the bias corrections 1 - b^t taken one step ahead (t + 1)"),
    ("t_ahead_m", "m's bias correction 1 - b1^t taken one step ahead (t + 1)"),
    ("t_ahead_v", "v's bias correction 1 - b2^t taken one step ahead (t + 1)"),
    (
        "t_behind",
        "the bias corrections 1 - b^t taken one step behind (t - 1: 1 - b^0 = 0 at the first "
        "step, a division by zero)",
    ),
    (
        "t_behind_m",
        "m's bias correction 1 - b1^t taken one step behind (t - 1: a division by zero at the "
        "first step)",
    ),
    (
        "t_behind_v",
        "v's bias correction 1 - b2^t taken one step behind (t - 1: a division by zero at the "
        "first step, where v_hat is inf and the step 0)",
    ),
    ("t_frozen", "the bias corrections taken at t = 1 at every step (t never incremented)"),
    (
        "t_epoch",
        "t advanced once per pass over the data (every {epoch} steps: t = 1 for steps "
        "1-{epoch}, then 2, ...), not once a step",
    ),
    (
        "bc_pow",
        "the bias corrections written (1 - b)^t where 1 - b^t belongs (np.power(1 - beta1, t) "
        "for 1 - np.power(beta1, t)): the same at t = 1, then ever smaller",
    ),
    (
        "g_numerator",
        "the gradient g in the step's numerator where m_hat belongs: g / (sqrt(v_hat) "
        "+ eps), RMSprop's step with Adam's v",
    ),
    ("mv_swapped", "m and v swapped in the step: v_hat / (sqrt(|m_hat|) + eps)"),
    (
        "betas_swapped",
        "beta1 and beta2 swapped: m's average and its correction take beta2, v's take beta1 "
        "(betas handed in the wrong order)",
    ),
    ("t_twice", "t advanced twice a step (t = 2, 4, 6, ...), not once"),
    ("t_per_layer", "t advanced at each layer's update, first layer first, not once a step"),
    ("t_per_layer_rev", "t advanced at each layer's update, last layer first, not once a step"),
    ("t_per_param", "t advanced at each parameter's update, not once a step"),
    ("t_per_param_rev", "t advanced at each parameter's update, last first, not once a step"),
    (
        "t_per_param_layers_rev",
        "t advanced at each parameter's update, the last layer first and W before b within "
        "each (an update inside the backward loop), not once a step",
    ),
    (
        "eps_hat",
        "eps added to sqrt(v) before the bias correction (the Adam paper's efficient "
        "form, eps-hat)",
    ),
]
CLIP = ("clip_value", "each gradient element clipped to +-{value:.3g} before the update")
