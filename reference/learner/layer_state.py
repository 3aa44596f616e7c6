"""What a layer keeps between calls, checked where one call alone cannot show it (review
s23c): batchnorm's running statistics stored on a first call whose ``bn_param`` holds none yet
(CS231n's net starts each as ``{'mode': 'train'}``), left alone in test mode, and a backward that
reads its own cache, not state a later forward call overwrote (a module-level cache is right
only while each backward follows its own forward, which two layers of one kind break; held
for module-level functions, whose state between calls is global)."""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

import numpy as np

from .layer_cases import Case, running_expected
from .layer_judge import _close, _Found

Array = np.ndarray
Reference = Callable[[Case], tuple[Array, Callable[[Array], dict[str, Array]]]]


def first_call(found: _Found, case: Case, lp: dict | None) -> None:
    """The statistics stored by a first call: the update of a start at zeros (the mean) and
    zeros or ones (the variance: CS231n's and PyTorch's starts)."""
    c = case.x.shape[1]
    starts = [(np.zeros(c), np.zeros(c)), (np.zeros(c), np.ones(c))]
    wants = []
    for m0, v0 in starts:
        bp = {**case.layer_param, "running_mean": m0, "running_var": v0}
        wants.append(running_expected(Case(case.label, case.x, {}, bp, info=case.info)))
    for key in ("running_mean", "running_var"):
        mine = (lp or {}).get(key)
        if mine is None:
            found.add(
                "batchnorm_running",
                key,
                "is not stored in bn_param when it holds none yet (the first training call)",
                f"store the new value: bn_param['{key}'] = {key} (the default .get() returns "
                "is a new array, not bn_param's)",
                case.label,
            )
            continue
        mine = np.asarray(mine, dtype=float)
        if not any(_near(mine, w[key]) for w in wants):
            want = wants[0][key]
            found.add(
                "batchnorm_running",
                key,
                f"after a first call is not the update of a start at zeros (or ones for the "
                f"variance): differs by up to {float(np.abs(mine - want).max()):.3g}",
                "start the running statistics at zeros (mean) and zeros or ones (variance), "
                "then update them as in every call",
                case.label,
            )


def frozen(found: _Found, case: Case, lp: dict | None) -> None:
    """Test mode leaves the running statistics as given (PyTorch's eval batch_norm)."""
    for key in ("running_mean", "running_var"):
        given, mine = case.layer_param.get(key), (lp or {}).get(key)
        if given is None or mine is None:
            continue
        mine = np.asarray(mine, dtype=float)
        if mine.shape != given.shape or not _near(mine, given):
            found.add(
                "batchnorm_running",
                key,
                "moves in test mode: an evaluation pass changes the statistics training made",
                "in test mode read the running statistics and leave them unchanged",
                case.label,
            )


def interleaved(found: _Found, forward: Callable, backward: Callable, cases: list[Case],
                expected: Reference, plain: bool) -> None:  # fmt: skip
    """Two training forwards, then the first case's backward with its own cache: the
    gradients must be those of the first case (a backward that reads state kept outside its
    cache, overwritten by the second forward, gives the second case's)."""
    train = [c for c in cases if c.train and "bare" not in c.info]
    if len(train) < 2 or not plain:
        return
    a, b = train[0], train[1]
    ref_out, grads = expected(a)
    dout = np.random.default_rng(11).normal(size=ref_out.shape)
    want = grads(dout)
    try:
        _, cache_a = _call(forward, a)
        _call(forward, b)
        got = backward(dout.copy(), cache_a)
    except Exception as e:  # noqa: BLE001 - the learner's layer failed only interleaved
        _said(found, a, b, f"raises {type(e).__name__}", "backward")
        return
    got = got if isinstance(got, tuple | list) else (got,)
    for (tensor, ref), mine in zip(want.items(), got, strict=False):
        mine = np.asarray(mine, dtype=float)
        scale = max(float(np.abs(ref).max()), 1.0)
        if mine.shape != ref.shape or not np.all(np.abs(mine - ref) <= 1e-6 * scale):
            _said(found, a, b, f"gives another {tensor}", tensor)
            return


def plain(*fs: Callable | None) -> bool:
    """Whether each is a module-level function (CS231n's layers): no object or closure of its
    own, so state it keeps between calls is global, shared by every layer that calls it. A
    layer object's method, or a closure over one, keeps per-layer state by design (nnfs's
    ``self.inputs``)."""
    return all(_plain(f) for f in fs)


def _plain(f: Callable | None) -> bool:
    return (
        isinstance(f, FunctionType) and f.__closure__ is None and "<locals>" not in f.__qualname__
    )


def _call(forward: Callable, case: Case) -> Any:
    import copy

    args = [case.x.copy(), *(v.copy() for v in case.params.values())]
    lp = copy.deepcopy(case.layer_param)
    res = forward(*args, lp) if lp is not None else forward(*args)
    return res if isinstance(res, tuple) and len(res) == 2 else (res, None)


def _said(found: _Found, a: Case, b: Case, what: str, tensor: str = "dx") -> None:
    found.add(
        "layer_state",
        tensor,
        f"{what} when another forward call ({b.label}) runs between this case's forward and "
        "its backward: the backward reads state kept outside its cache (a module-level or "
        "layer-level variable the second forward overwrote)",
        "keep everything the backward needs in the cache the forward returns, and read only "
        "that cache in backward (a network with two layers of this kind calls both forwards "
        "before either backward)",
        a.label,
    )


def _near(a: Array, b: Array) -> bool:
    return _close(a, b, max(float(np.abs(b).max()), 1.0))  # the layer judge's own closeness
