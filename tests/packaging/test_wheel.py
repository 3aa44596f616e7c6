"""The wheel holds one import name, ``nnparity``, with every part of the source tree in it."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("scratch", "reference", "reports")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    pytest.importorskip("setuptools", reason="building a wheel offline needs setuptools installed")
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (path,) = out.glob("nnparity-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_has_one_top_level_name(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"nnparity"}
    (info,) = [t for t in tops if t.endswith(".dist-info")]
    top_level = f"{info}/top_level.txt"
    if top_level in wheel.namelist():
        assert wheel.read(top_level).decode().split() == ["nnparity"]


def test_every_package_and_module_of_the_source_tree_is_in_the_wheel(wheel):
    names = set(wheel.namelist())
    for part in PARTS:
        for source in (ROOT / part).rglob("*.py"):
            rel = source.relative_to(ROOT).as_posix()
            assert f"nnparity/{rel}" in names, f"{rel} is missing from the wheel"
    assert "nnparity/py.typed" in names and "nnparity/__main__.py" in names


def test_entry_points_name_nnparity_modules(wheel):
    (ep,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    cfg = configparser.ConfigParser()
    cfg.read_string(wheel.read(ep).decode())
    assert cfg["console_scripts"]["nnparity"] == "nnparity.reports.cli:main"
    assert cfg["pytest11"]["nnparity"] == "nnparity.reference.plugin"
