"""A temporary copy of a learner's folder to run its file in (see ``sandbox``).

The copy holds the learner's file, then its Python files (shallowest first), then its other
files (smallest first), while the total stays within ``limit`` bytes; folders that are tools'
caches or environments (``.git``, ``__pycache__``, virtual environments, ``node_modules``) and
symbolic links to folders are left out, and at most ``MAX_FILES`` files are looked at. What was
left out is said in one line, so a program that reads a file the copy lacks is explained.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

COPY_LIMIT = 64 * 2**20  # bytes of the learner's folder copied
MAX_FILES = 5000  # files looked at in the learner's folder
SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".venv",
    "venv",
    "env",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".ipynb_checkpoints",
}


def copy_folder(src: Path, dst: Path, first: Path, limit: int = COPY_LIMIT) -> str:
    """Copy ``src`` into ``dst`` (created): ``first`` always, the rest as the module docstring
    says. Returns "" when everything was copied, else one line naming what was left out."""
    files, scanned_all = _files(src)
    first_rel = first.resolve().relative_to(src.resolve())
    files.pop(first_rel, None)
    order = sorted(files.items(), key=lambda kv: (kv[0].suffix != ".py", len(kv[0].parts), kv[1]))
    dst.mkdir(parents=True)
    _copy(src / first_rel, dst / first_rel)
    total, left = 0, []
    for rel, size in order:
        if total + size > limit:
            left.append((rel, size))
            continue
        try:
            _copy(src / rel, dst / rel)
            total += size
        except OSError:  # unreadable, vanished: the program would not read it either
            left.append((rel, size))
    if not left and scanned_all:
        return ""
    parts = []
    if left:
        big = max(left, key=lambda kv: kv[1])
        parts.append(
            f"{len(left)} file(s) of {src} were not copied (the copy holds at most "
            f"{limit / 2**20:g} MiB; largest left out: {big[0]}, {big[1] / 2**20:.1f} MiB)"
        )
    if not scanned_all:
        parts.append(f"only the first {MAX_FILES} files of {src} were looked at")
    return (
        "your program ran in a temporary copy of its folder; "
        + "; ".join(parts)
        + ": a file your program reads may be missing there"
    )


def _files(src: Path) -> tuple[dict[Path, int], bool]:
    """{relative path: size} of the regular files under ``src`` (see the docstring), and
    whether all were looked at."""
    found: dict[Path, int] = {}
    for root, dirs, names in os.walk(src):  # symbolic links to folders are not followed
        here = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not (here / d).is_symlink()
            and not (here / d / "pyvenv.cfg").exists()
        )
        for n in sorted(names):
            if len(found) >= MAX_FILES:
                return found, False
            p = here / n
            try:
                if p.is_file():
                    found[p.relative_to(src)] = p.stat().st_size
            except OSError:
                continue
    return found, True


def _copy(a: Path, b: Path) -> None:
    b.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(a, b)  # a link to a file is copied as the file
