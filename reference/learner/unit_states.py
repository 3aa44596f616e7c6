"""The state of a network's units and weights that keeps it from training, read at one
point of a run: ``dead_units`` (ReLU with z <= 0 on every sample), ``saturation`` (sigmoid
|z| > 6, tanh |z| > 3.5 on every sample), ``symmetric_init`` (hidden units with identical
incoming and outgoing weights stay identical) and ``init_scale`` (weights whose std is far
beyond 1/sqrt(fan_in) at the start, or far below it: ``init_small``)."""

from __future__ import annotations

import numpy as np

from nnparity.scratch import Spec

from .codec import Codec
from .result import Finding
from .torch_side import RefStep

INIT_SCALE = 10.0  # a weight's std this many times 1/sqrt(fan_in) is a blown-up start
SATURATED = {"sigmoid": 6.0, "tanh": 3.5}


def units(rs: RefStep, spec: Spec, P: dict, when: str, codec: Codec) -> list[Finding]:
    """dead_units, saturation and symmetric_init findings at the twin's state ``rs``."""
    out = []
    acts = [a.name for a in spec.activations]
    for l in range(1, spec.n_layers):
        z = rs.z[l].double().numpy()
        lab = codec.label(f"W{l}")
        if acts[l - 1] == "relu":
            dead = np.flatnonzero((z <= 0).all(axis=0))
            if dead.size:
                out.append(
                    Finding(
                        "dead_units",
                        (lab,),
                        l,
                        None,
                        f"{when}: unit(s) {_list(dead)} of layer {l} (relu) have z <= 0 on all "
                        f"{z.shape[0]} samples, so their gradients are 0 and they never recover",
                        "initialise so z > 0 for some samples (He init, a small positive "
                        "bias)"
                        + (  # dead from the start: leaky_relu's 0.01 slope barely moves them
                            ""  # (review s24b F6: a bias of -5, as slow as relu), nor does lr
                            if when.startswith("at the start")
                            else ", or use leaky_relu, or lower the learning rate"
                        ),
                        "limitation",
                    )
                )
        if acts[l - 1] in SATURATED:
            sat = np.flatnonzero((np.abs(z) > SATURATED[acts[l - 1]]).all(axis=0))
            if sat.size:
                out.append(
                    Finding(
                        "saturation",
                        (lab,),
                        l,
                        None,
                        f"{when}: unit(s) {_list(sat)} of layer {l} ({acts[l - 1]}) have |z| > "
                        f"{SATURATED[acts[l - 1]]} on every sample, where the derivative is "
                        "< 0.0025",
                        "scale the initial weights down (Xavier init) and normalise the inputs",
                        "limitation",
                    )
                )
        W, Wn = P[f"W{l}"], P[f"W{l + 1}"]
        inc = np.vstack([W, P[f"b{l}"][None, :]]) if f"b{l}" in P else W
        pairs = [
            (i, j)
            for i in range(W.shape[1])
            for j in range(i + 1, W.shape[1])
            if np.array_equal(inc[:, i], inc[:, j]) and np.array_equal(Wn[i], Wn[j])
        ]
        if pairs:
            groups = sorted({i for p in pairs for i in p})
            out.append(
                Finding(
                    "symmetric_init",
                    (lab,),
                    l,
                    None,
                    f"{when}: unit(s) {_list(np.array(groups))} of layer {l} have identical "
                    "incoming and outgoing weights, so they receive identical gradients and stay "
                    "identical forever",
                    "initialise the weights randomly (not zeros or a constant)",
                    "limitation",
                )
            )
    return out


def init_scale(spec: Spec, P: dict, codec: Codec) -> list[Finding]:
    """``init_scale``: weights whose std is far beyond 1/sqrt(fan_in) at the start."""
    return _far_from_fan_in(spec, P, codec, small=False)


def init_small(spec: Spec, P: dict, codec: Codec) -> list[Finding]:
    """``init_scale`` in the other direction: weights whose std is far below 1/sqrt(fan_in)
    at the start (deeplearning.ai's ``randn * 0.01`` in a deep network: the signal and the
    gradients shrink by that factor at every layer). A cause only where a run shows it: the
    caller trains the declared optimizer from a fresh initialisation."""
    return _far_from_fan_in(spec, P, codec, small=True)


def _far_from_fan_in(spec: Spec, P: dict, codec: Codec, small: bool) -> list[Finding]:
    """``init_scale`` for each weight whose std is ``INIT_SCALE`` times beyond (or below)
    1/sqrt(fan_in)."""
    out = []
    for l in range(1, spec.n_layers + 1):
        W = P.get(f"W{l}")
        if W is None or W.size < 2:
            continue
        ref = 1 / np.sqrt(spec.sizes[l - 1])
        std = float(np.std(W))
        far = 0 < std < ref / INIT_SCALE if small else std > INIT_SCALE * ref
        if not far:
            continue
        what = f"{ref / std:.0f} times below" if small else f"{std / ref:.0f} times"
        out.append(
            Finding(
                "init_scale",
                (codec.label(f"W{l}"),),
                l,
                None,
                f"at the start: {codec.label(f'W{l}')} has std {std:.3g}, {what} "
                f"1/sqrt(fan_in) = {ref:.3g}",
                "scale the initial weights to std ~ 1/sqrt(fan_in) (Xavier/He init)"
                + (": weights this small shrink the signal and the gradients at every layer"
                   if small else ""),
                "limitation",
            )
        )  # fmt: skip
    return out


def _list(ix: np.ndarray) -> str:
    items = [str(int(i)) for i in ix[:8]]
    return ", ".join(items) + (f" (+{ix.size - 8} more)" if ix.size > 8 else "")
