"""Before ``capacity`` is claimed: the strong run (Adam from the learner's weights) on for
``LONGER`` times its steps. A network that gets there, only later, can represent the data:
the answer is ``slow_training`` (review s34 F3: a logistic regression on uncentred inputs fit
at step 4,956 and the nnfs spiral reached its bound at step 5,000, both said "cannot
represent"). Where identical inputs carry other targets, "gets there" is the best any model
reaches (the contradiction's bound), not every row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .remedies import FAR, _far, slower
from .result import Finding

LONGER = 4  # times the strong run's steps


def longer_strong(
    train: Callable[..., Any], strong_spec: Any, P0: dict, X: Any, y: Any, steps: int,
    fits: Callable[[Any], bool], score: Callable[[Any], str], run: str, seconds: float | None,
) -> Finding | None:  # fmt: skip
    """``slow_training`` where the strong run fits within ``LONGER`` times its ``steps``."""
    more = train(strong_spec, P0, [(X, y)], LONGER * steps, fits, seconds=seconds)
    if not more.fit:
        return None
    return Finding(
        "slow_training",
        (),
        None,
        None,
        f"{run}; {strong_spec.opt} from the same weights does not fit in {steps} full-batch "
        f"steps, but does in {more.steps}: {score(more.out)}, so the network can represent it",
        f"train with {strong_spec.opt} (the run shown: it fits in {more.steps} steps from "
        "your weights), or your own optimizer much longer"
        + ("; standardised inputs often get there sooner" if _far(X) > FAR else ""),
        "limitation",
    )


def below_bound(
    train: Callable[..., Any], spec: Any, declared: Any, P0: dict, batches: list, steps: int,
    bounded: Callable[[Any], bool], score: Callable[[Any], str], seconds: float | None,
    value: Callable[[Any], float], bound: float, run: str,
) -> list[Finding]:  # fmt: skip
    """``slow_training`` beside ``contradictory_targets`` where the strong run reaches the
    data's bound and the declared run ends below it (review s35 F6: SGD at lr 0.01 at 23/35
    against a bound of 32 was said to be the data alone); the fix as ``remedies.slower``
    finds it, judged by the bound."""
    if value(declared.out) >= bound:
        return []
    said, hint, _ = slower(train, spec, declared.params, P0, batches, steps, bounded, score,
                           seconds)  # fmt: skip
    return [
        Finding(
            "slow_training",
            (),
            None,
            None,
            f"{run} reaches the best any model can here, yours not yet{said}",
            hint,
            "limitation",
        )
    ]
