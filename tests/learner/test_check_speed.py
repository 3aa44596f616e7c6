"""What keeps a check fast, held as behaviour (never as timings): the parent process imports
neither torch, pandas nor NumPy; the learner's process not torch; the checker's keeps
``torch._dynamo`` (1.4 s of CPU to import)
out (``lazy_dynamo``) without changing a single number PyTorch computes, and the real module
still comes when asked.

Each case runs in a fresh interpreter: a module cannot be unimported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_isolation import FAST, learner

from nnparity.reports.cli import main

ROOT = Path(__file__).resolve().parents[2]

STEPS = """
import json, sys, torch
if sys.argv[1] == "defer":
    from nnparity.reference.learner.lazy_dynamo import defer
    assert defer()
out = {}
for name, make in {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}.items():
    torch.manual_seed(0)
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    opt = make([w])
    for _ in range(5):
        opt.zero_grad()
        (w.sin() ** 2).sum().backward()
        opt.step()
    out[name] = w.detach().numpy().tobytes().hex()
out["dynamo"] = type(sys.modules.get("torch._dynamo")).__name__
print(json.dumps(out))
"""


def _run(code: str, *args: str) -> dict:
    p = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(p.stdout.splitlines()[-1])


def test_optimizer_steps_are_bitwise_the_same_and_dynamo_stays_out():
    plain, deferred = _run(STEPS, "plain"), _run(STEPS, "defer")
    assert plain.pop("dynamo") == "module"  # without defer, the optimizer imports the real one
    assert deferred.pop("dynamo") == "_Deferred"
    assert deferred == plain


FALLBACK = """
import json, sys, torch
from nnparity.reference.learner import lazy_dynamo
lazy_dynamo.defer()
before = lazy_dynamo.deferred()
cache = torch._dynamo.config.cache_size_limit  # anything else: the real module
f = torch.compile(lambda x: x * 2 + 1, backend="eager")
print(json.dumps({
    "before": before,
    "after": lazy_dynamo.deferred(),
    "same": torch._dynamo is sys.modules["torch._dynamo"],
    "cache": isinstance(cache, int),
    "compiled": f(torch.ones(2)).tolist(),
}))
"""


def test_anything_else_imports_the_real_module():
    got = _run(FALLBACK)
    assert got == {"before": True, "after": False, "same": True, "cache": True, "compiled": [3, 3]}


def test_the_learners_process_never_imports_torch(tmp_path, capsys):
    """The learner's gradient function reports what ``torch`` and ``torch._dynamo`` are in its
    own process: nothing (PyTorch lives in the checker's process, ``remote``)."""
    hook = (
        "lambda: print('torch:', type(sys.modules.get('torch')).__name__, "
        "type(sys.modules.get('torch._dynamo')).__name__)"
    )
    f = learner(tmp_path, f"import sys\ndef nnparity_adapter(): return make({hook})\n")
    assert main(["check", str(f), *FAST, "--json"]) == 0
    sent = json.loads(capsys.readouterr().out)
    seen = [ln.split()[1:] for ln in sent["output"].splitlines() if ln.startswith("torch:")]
    assert len(seen) >= 2 and all(s == ["NoneType", "NoneType"] for s in seen), seen


CHECKER = """
import sys
from nnparity.reference.learner import lazy_dynamo
lazy_dynamo.defer()  # what the checker's process does first (sandbox_child._child_check)
from nnparity.reference.learner import checker
from nnparity.reference.learner.loader import load
adapter, X, y = load(sys.argv[1])
r = checker.check(adapter, X, y, steps=3, watch=0, probe=False)
print(r.code, type(sys.modules.get("torch._dynamo")).__name__)
"""


def test_a_check_in_the_checkers_process_never_imports_dynamo(tmp_path):
    """The checker's process (``sandbox_child``) defers ``torch._dynamo`` and a whole check,
    its optimizer steps included, never imports it."""
    f = learner(tmp_path, "def nnparity_adapter(): return make()\n")
    out = subprocess.run(
        [sys.executable, "-c", CHECKER, str(f)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.stdout.split() == ["match", "_Deferred"], out.stderr


PARENT = """
import sys
from nnparity.reports.cli import main
rc = main(["check", sys.argv[1], "--steps", "2", "--watch", "0", "--no-probe"])
heavy = sorted(m for m in ("torch", "pandas", "numpy") if m in sys.modules)
print(rc, ",".join(heavy) or "none")
"""


def test_the_parent_of_a_check_imports_no_heavy_library(tmp_path):
    f = learner(tmp_path, "def nnparity_adapter(): return make()\n")
    p = subprocess.run(
        [sys.executable, "-c", PARENT, str(f)], capture_output=True, text=True, cwd=ROOT
    )
    assert p.stdout.split()[-2:] == ["0", "none"], p.stdout + p.stderr
