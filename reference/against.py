"""Scratch held to several references at once: ``run_against(spec, against=("torch", "jax"))``
runs the parity engine once per framework (same weights, data and mode) and, with both PyTorch
and JAX, triangulates: scratch vs torch and scratch vs jax as the engine judged them, torch vs
jax compared directly (``nnparity.reference.jax.triangulate.from_results``), and one verdict
line naming the odd one out.

JAX is the optional extra ``nnparity[jax]``; asking for it without the extra raises
``SpecError`` naming the extra, as does a layered spec (the JAX twin is dense only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnparity.scratch import Spec, SpecError

from .engine import FRAMEWORKS, ParityResult, run_parity


def parse_against(against: str | Sequence[str]) -> tuple[str, ...]:
    """``"torch,jax"`` or ``["torch", "jax"]`` -> ``("torch", "jax")``: known names, each
    once, in the order given; SpecError naming the choices otherwise."""
    names = against.split(",") if isinstance(against, str) else list(against)
    names = [n.strip().lower() for n in names if n.strip()]
    bad = [n for n in names if n not in FRAMEWORKS]
    if bad or not names:
        raise SpecError(
            f"--against takes one or more of {', '.join(FRAMEWORKS)} separated by commas "
            f"(e.g. torch,jax), got {against!r}"
        )
    return tuple(dict.fromkeys(names))


def require_jax() -> None:
    """SpecError naming the extra when jax or optax cannot be imported."""
    try:
        import nnparity.reference.jax  # noqa: F401
    except ImportError as e:
        raise SpecError(f"--against jax: {e}") from None


@dataclass(frozen=True)
class AgainstResult:
    """One ``ParityResult`` per framework (in the order asked) and, when both torch and jax
    were asked, their ``Triangulation``."""

    results: dict[str, ParityResult]
    triangulation: Any = None  # nnparity.reference.jax.Triangulation, or None

    @property
    def passed(self) -> bool:
        """True when scratch matches every framework asked."""
        return all(r.passed for r in self.results.values())

    @property
    def records(self) -> list[Any]:
        """Every framework's records (each carries its ``framework``), in the order asked."""
        return [rec for r in self.results.values() for rec in r.records]

    def verdict(self) -> str:
        """The triangulated verdict line with both frameworks, else scratch's against each."""
        if self.triangulation is not None:
            return self.triangulation.verdict()
        return "; ".join(
            f"scratch {'matches' if r.passed else 'differs from'} {FRAMEWORKS[fw]}"
            for fw, r in self.results.items()
        )

    def message(self) -> str:
        """Each failing framework's account, then the verdict line."""
        parts = [f"against {FRAMEWORKS[fw]}: {r.message()}" for fw, r in self.results.items()]
        return "\n\n".join([*parts, f"verdict: {self.verdict()}"])


def run_against(
    spec: Spec | str,
    steps: int = 5,
    mode: str = "free",
    *,
    against: str | Sequence[str] = ("torch",),
    **kwargs: Any,
) -> AgainstResult:
    """``run_parity(spec, steps, mode, against=fw, **kwargs)`` for each framework in
    ``against``; with torch and jax both, the triangulation of the two runs."""
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    names = parse_against(against)
    if "jax" in names:
        if spec.layered:
            run_parity(spec, steps, mode, against="jax")  # raises the engine's message
        require_jax()
    both = "torch" in names and "jax" in names
    keep = kwargs.pop("keep_arrays", False) or both
    results = {
        fw: run_parity(spec, steps, mode, against=fw, keep_arrays=keep, **kwargs) for fw in names
    }
    tri = None
    if both:
        from .jax.triangulate import from_results

        t, j = results["torch"], results["jax"]
        if (t.resync is None) != (j.resync is None):  # free mode judged one run, not the other
            if t.resync is None:
                t = run_parity(spec, steps, "resync", against="torch", keep_arrays=True, **kwargs)
            else:
                j = run_parity(spec, steps, "resync", against="jax", keep_arrays=True, **kwargs)
        tri = from_results(t, j)
    return AgainstResult(results, tri)
