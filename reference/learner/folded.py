"""A folded weight's gradient transposed: where the bias rides in the weight as a row (or a
column) beside the inputs', a layer of n - 1 inputs and n units is square, and a gradient
returned transposed splits into weights and a bias that are neither, which no reading of
either part names. Read on the learner's own array: transposed back, it is PyTorch's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .hypotheses import StepData


def explain_folded_transposed(
    data: list[StepData], codec: Codec, failing: dict[str, int]
) -> list[Finding]:
    """``transposed`` for each square folded weight whose gradient, transposed back as the
    learner holds it, is PyTorch's at every step of ``data``; [] unless these explain every
    failing gradient (review s24c F3: Ng's square Theta1 returned transposed was unexplained)."""
    found, covered = [], set()
    for i, s in enumerate(codec.slots):
        keys = {f"W{s.layer}", f"b{s.layer}"}
        if s.role != "Wb" or len(set(s.shape)) != 1 or not keys & set(failing):
            continue
        if all(_back(st, codec, i, keys) for st in data):
            covered |= keys
            found.append(
                Finding(
                    "transposed",
                    codec.labels(sorted(keys)),
                    s.layer,
                    min(failing[k] for k in keys if k in failing),
                    f"your gradient of {s.path} (its bias folded in, square {s.shape}) is "
                    "PyTorch's transposed: split into weights and bias as it stands, neither "
                    "part is a gradient",
                    f"transpose it back: {s.path}'s gradient has the shape and layout of "
                    f"{s.path} itself (the bias {'row' if codec.layout == 'in_out' else 'column'}"
                    " included)",
                )
            )
    return found if found and set(failing) <= covered else []


def _back(st: StepData, codec: Codec, i: int, keys: set[str]) -> bool:
    """Whether slot ``i``'s learner gradient, transposed as the learner holds it, is PyTorch's
    (the other slots as PyTorch's: only this one is read)."""
    ref = {k: v.numpy() for k, v in st.ref.items()}
    raw = codec.from_canonical({**ref, **{k: st.g[k].numpy() for k in keys if k in st.g}})
    raw[i] = raw[i].T
    back = codec.to_canonical(raw, "float64")
    return all(
        np.all(np.abs(back[k] - ref[k]) <= st.atol[k] + st.rtol * np.abs(ref[k]))
        for k in keys
        if k in ref
    )
