"""Memory refusals (``reference/resources.py``): a run that cannot fit is refused up front, and
a tiny run does not pay for reading /proc/meminfo."""

from __future__ import annotations

import pytest

from nnparity.reference import resources
from nnparity.reference.resources import ALWAYS_FITS, check_resources, estimate_bytes
from nnparity.scratch import Spec, SpecError


def test_a_tiny_run_is_not_refused_and_does_not_read_the_memory(monkeypatch):
    spec = Spec.parse("4-8-3 tanh,identity loss=mse")
    assert estimate_bytes(spec, 10) <= ALWAYS_FITS

    def unreadable():
        raise AssertionError("read /proc/meminfo for a tiny run")

    monkeypatch.setattr(resources, "available_bytes", unreadable)
    check_resources(spec, 10)


def test_a_run_above_the_threshold_is_held_to_the_memory_available(monkeypatch):
    spec = Spec.parse("512-2048-2048-10 relu,relu,identity loss=mse batch=512")
    need = estimate_bytes(spec, 10)
    assert need > ALWAYS_FITS
    monkeypatch.setattr(resources, "available_bytes", lambda: 2 * need + 2)
    check_resources(spec, 10)  # fits in half of what is available
    monkeypatch.setattr(resources, "available_bytes", lambda: 2 * need - 2)
    with pytest.raises(SpecError, match="would need about .* lower the batch"):
        check_resources(spec, 10)
