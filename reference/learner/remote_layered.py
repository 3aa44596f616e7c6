"""A layered adapter's declarations (``LayeredDecl``) across the process split (``serve``,
``remote``): no learner object crosses.

In the learner's process each declared buffer and mask source (a path below the owner, a
callable, a dropout layer object) becomes a reader, a function of no arguments returning
arrays, that the checker calls like any of the learner's functions (``remote.RemoteFn``). A
mask reader sends ``(kind, value)``: ``array`` (the mask array, a layer's ``binary_mask`` or
``mask``, or what a path or callable gave), ``layer`` (a layer's ``inputs`` and ``output``, the
mask being where the output is non-zero) or ``object`` (anything else: it crosses as a handle
bearing its type's name, which ``layered_masks`` then names in its error). In the checker the
``LayeredDecl`` is rebuilt from the spec's text with these readers as its sources, and NumPy's
global generator state before the learner's pass is asked of the learner's process (``rng``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np

from .declared_masks import read_source
from .layered_decl import LayeredDecl

MT_WORDS = 624  # MT19937's state: 624 uint32 words and a position


def buffer_reader(src: Any, owner: Any) -> Callable[[], Any]:
    """(The learner's process.) The running statistic a buffer source gives."""
    return partial(read_source, src, owner)


def mask_reader(src: Any, owner: Any) -> Callable[[], tuple[str, Any]]:
    """(The learner's process.) ``(kind, value)`` of a mask source after a pass (see the
    module)."""

    def read() -> tuple[str, Any]:
        v = read_source(src, owner)
        if v is None or isinstance(v, np.ndarray | list | tuple):
            return "array", v
        for attr in ("binary_mask", "mask"):
            if isinstance(getattr(v, attr, None), np.ndarray):
                return "array", getattr(v, attr)
        x, out = getattr(v, "inputs", None), getattr(v, "output", None)
        if isinstance(x, np.ndarray) and isinstance(out, np.ndarray):
            return "layer", (x, out)
        return "object", v

    return read


def _mask(fn: Callable[[], Any]) -> Any:
    """(The checker.) What ``declared_masks.declared_mask`` reads: an array, or an object with
    ``inputs`` and ``output``."""
    from .remote import unreadable

    try:
        kind, v = fn()
        if kind == "layer":
            x, out = v
            return SimpleNamespace(inputs=np.asarray(x), output=np.asarray(out))
        if kind not in ("array", "object"):
            raise ValueError(f"a mask of kind {kind!r}")
    except (TypeError, ValueError) as e:
        raise unreadable(e) from None
    return v


def remote_decl(learner: Any, info: dict, arrays: list) -> LayeredDecl:
    """(The checker.) The learner's ``LayeredDecl`` from its description: the spec parsed
    again here, the sources readers in the learner's process."""
    from nnparity.scratch import Spec

    from .remote import RemoteFn, _decode

    running, biased, keep_p, seed, batch_size, l2 = _decode(info["plain"], arrays)
    if running not in ("torch", "cs231n"):
        raise ValueError(f"running statistics {running!r}")
    for value in (seed, batch_size):
        if value is not None and not isinstance(value, int | np.integer):
            raise ValueError(f"{value!r} where an integer belongs")
    decl = LayeredDecl(
        Spec.parse(str(info["spec"])),
        running,
        bool(biased),
        bool(keep_p),
        tuple(partial(RemoteFn(learner, int(i))) for i in info["buffers"]),
        tuple(partial(_mask, RemoteFn(learner, int(i))) for i in info["masks"]),
        seed,
        _seeds_owner(info.get("seeds")),  # every source is a reader: the owner holds only
        # the seeds found in the learner's objects (``layered_masks.seeds_of`` reads them)
        batch_size,
        float(l2),
    )
    nb, nm = len(decl.buffer_names()), len(decl.dropout_numbers())
    if len(decl.buffers) not in (0, nb) or len(decl.masks) not in (0, nm):
        # ``layered_decl`` refused these in the learner's process: nnparity was patched there
        raise ValueError(f"{len(decl.buffers)} buffer and {len(decl.masks)} mask reader(s)")
    return decl


def _seeds_owner(seeds: Any) -> SimpleNamespace | None:
    """An owner whose dict attributes hold the learner's dropout seeds, checked to be ints."""
    if not seeds:
        return None
    if not isinstance(seeds, list) or not all(type(s) is int for s in seeds):
        raise ValueError(f"dropout seeds {seeds!r}")
    return SimpleNamespace(**{f"dropout_param{i}": {"seed": s} for i, s in enumerate(seeds)})


def rng_state(learner: Any) -> tuple:
    """(The checker.) NumPy's global generator state in the learner's process, as
    ``np.random.get_state()`` gives it, checked to be one (else ``remote.Unreadable``)."""
    from .remote import _decode, unreadable

    h, got = learner.ask({"op": "rng"})
    try:
        name, keys, pos, has_gauss, cached = _decode(h.get("state"), got)
        keys = np.asarray(keys)
        if name != "MT19937" or keys.dtype != np.uint32 or keys.shape != (MT_WORDS,):
            raise ValueError("not an MT19937 state")
        state = ("MT19937", keys.copy(), int(pos), int(has_gauss), float(cached))
        if not 0 <= state[2] <= MT_WORDS:
            raise ValueError(f"position {state[2]}")
        np.random.RandomState().set_state(state)  # NumPy's own check of the rest
    except (TypeError, ValueError) as e:
        raise unreadable(e) from None
    return state
