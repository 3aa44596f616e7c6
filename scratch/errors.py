"""Errors a user can cause. Each message names the problem and the fix."""

from __future__ import annotations

import difflib


class NNParityError(ValueError):
    """Base class: every error nnparity raises on purpose is one of these."""


class SpecError(NNParityError):
    """A spec, a variant name or a hyperparameter is not valid."""


class DataError(NNParityError):
    """Data that does not fit the spec, or is not finite."""


SYNONYMS = {  # other libraries' names for the same variant (lower case, no separators)
    "mae": "l1",
    "svm": "multi_margin",
    "multiclass_hinge": "multi_margin",
    "multi_margin_loss": "multi_margin",
    "hinge_loss": "hinge",
    "meanabsoluteerror": "l1",
    "l1loss": "l1",
    "meansquarederror": "mse",
    "mseloss": "mse",
    "huberloss": "huber",
    "binarycrossentropy": "bce",
    "bceloss": "bce",
    "logloss": "bce",
    "categoricalcrossentropy": "cross_entropy",
    "sparsecategoricalcrossentropy": "cross_entropy",
    "crossentropyloss": "cross_entropy",
    "nllloss": "nll",
    "linear": "identity",
    "logistic": "sigmoid",
    "swish": "silu",
    "leakyrelu": "leaky_relu",
    "lrelu": "leaky_relu",
    "glorotuniform": "xavier_uniform",
    "glorotnormal": "xavier_normal",
    "heuniform": "kaiming_uniform",
    "henormal": "kaiming_normal",
}


def did_you_mean(name: str, known: list[str]) -> str:
    """``"; did you mean 'relu'?"`` for the known name another library gives ``name``
    (``SYNONYMS``: 'mae' is 'l1'), else the closest known name, or ``"."`` when none is close."""
    same = SYNONYMS.get("".join(c for c in str(name).lower() if c.isalnum()))
    if same in known:
        return f"; did you mean {same!r} (the same variant by PyTorch's name)?"
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.5)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else "."


# optimizers of their own elsewhere (torch.optim's, Keras's): never offered a near name
OTHER_OPTIMIZERS = {"adadelta", "adamax", "nadam", "radam", "rprop", "asgd", "lbfgs", "lion",
                    "sparseadam", "ftrl", "adafactor", "lamb", "novograd", "yogi"}  # fmt: skip


def unknown_name(kind: str, name: str, known: list[str]) -> SpecError:
    """``SpecError`` for an unknown variant name, with the closest match and the known names
    (an optimizer of its own elsewhere, Adadelta, is said as such: its near name, AdaGrad, is
    another algorithm; review s59a F7)."""
    kinds = kind + ("es" if kind.endswith("s") else "s")
    flat = "".join(c for c in str(name).lower() if c.isalnum())
    if kind == "optimizer" and flat in OTHER_OPTIMIZERS:
        torch_has = flat in {"adadelta", "adamax", "nadam", "radam", "rprop", "asgd", "lbfgs",
                             "sparseadam"}  # fmt: skip
        return SpecError(
            f"unknown optimizer {name!r}: "
            + ("torch.optim has it, but " if torch_has else "an optimizer of its own, and ")
            + f"nnparity has no twin for it (known optimizers: {', '.join(known)}); to check "
            "your gradients alone, give no step= (the check then moves your weights by the "
            "declared optimizer between steps) and declare optimizer='sgd'"
        )
    return SpecError(
        f"unknown {kind} {name!r}{did_you_mean(name, known)} Known {kinds}: {', '.join(known)} "
        f"(a {kind} outside these has no PyTorch twin here: a program that uses one is checked "
        f"with one of these in its place)"
    )
