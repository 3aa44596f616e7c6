"""Sweeps, reports and the command line. The only package that knows pandas.

``nnparity.reports.load(out_dir)`` reads a report's data back as typed tables (``data.load``);
pandas is imported on first use, not with the package.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "load":
        from .data import load

        return load
    raise AttributeError(f"module 'nnparity.reports' has no attribute {name!r}")
