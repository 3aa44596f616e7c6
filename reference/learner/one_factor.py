"""One factor on every parameter's step, from a step that hides its gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .hypotheses import StepData


def one_factor(
    found: list[Finding], steps: list[StepData], failing: dict[str, int], codec: Codec
) -> list[Finding]:
    """For a step that hides its gradients: where no reading explains any gradient and every
    one's c at the first failing step is one number (cos = 1), one finding saying so: a factor
    alike on every layer is the update's, or the gradient's scale, not a term of backprop
    (review s32 F7: Nesterov's 1 + mu written 1 - mu was four "print a finite difference")."""
    if not found or any(f.code != "unexplained_mismatch" for f in found):
        return []
    first = min(failing.values())
    s = next((x for x in steps if x.step == first), None)
    if s is None or set(failing) != set(s.g):
        return []
    cs = []
    for k in s.g:
        c, cos = c_cos(s.g[k], s.ref[k])
        if not cos >= 1 - 1e-6:  # (nan: a gradient of zeros)
            return []
        cs.append(c)
    if max(cs) - min(cs) > 1e-6 * max(abs(c) for c in cs):
        return []
    return [
        Finding(
            "unexplained_mismatch",
            codec.labels(list(s.g)),
            None,
            first,
            f"at step {first} every parameter's step is c = {cs[0]:.6g} times PyTorch's, the "
            "same factor on every layer (cos = 1): with your gradients hidden in the step, that "
            "is your update (its learning rate, its momentum or look-ahead terms) or a scale "
            "every gradient shares, not a term of one layer's backprop; no known form of it "
            "reproduces your steps",
            "compare your update line by line with the declared optimizer's, and expose your "
            "gradients (from_gradients(..., step=...)) to tell the two apart",
        )
    ]


def c_cos(g: Any, e: Any) -> tuple[float, float]:
    """(c, cos) of a learner's gradient ``g`` against PyTorch's ``e``: c = <g, e> / <e, e>,
    cos their cosine similarity (nan where either is all zeros)."""
    g, e = g.double(), e.double()
    den, nl = float((e * e).sum()), float((g * g).sum())
    dot = float((g * e).sum())
    return (
        dot / den if den else float("nan"),
        dot / (den * nl) ** 0.5 if den and nl else float("nan"),
    )
