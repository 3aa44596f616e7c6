"""Faster forms of some functions, valid only together with those very functions (tanh's
in-place forward and vjp, a squared loss's value and gradient from one residual). A form is
attached to its owners as one tag, and found again only while each function asked about is
the owner it was attached to: a variant replaced by a plant (``_replace``, or a wrapper made
with ``functools.wraps``, which copies the tag) runs as written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def attach(name: str, form: Any, *owners: Callable) -> None:
    """Tag each owner with ``(owners, form)`` under ``name``."""
    tag = (owners, form)
    for fn in owners:
        setattr(fn, name, tag)


def attached(name: str, *fns: Callable) -> Any:
    """The form tagged ``name`` when ``fns`` are its owners, in order; else None."""
    tag = getattr(fns[0], name, None)
    if not isinstance(tag, tuple) or len(tag[0]) != len(fns):
        return None
    return tag[1] if all(a is b for a, b in zip(tag[0], fns, strict=True)) else None
