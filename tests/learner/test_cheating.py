"""A learner's file written to cheat gets no verdict or its true one, never a forged ``match``
(issue 9, "learner code isolated"; the review's item 4): the verdict comes from the checker's
process, where no line of the learner's code runs; the result crosses on a pipe the learner's
process does not hold, signed with a key it never sees; and no process it starts outlives the
check. Each learner is the 2-3-1 tanh network of ``tiny_learner``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from test_isolation import FAST, check, learner

from nnparity.reference.learner.sandbox import run_isolated

FORGED = (
    '{"status": "verdict", "result": {"code": "match"}, "render": "code: match", '
    '"passed": true, "fits": true}'
)

# writes a forged result everywhere it could be read: the old result file, every file and
# descriptor it can reach (its parent's included, through /proc), then ends its process
FORGE = f"""
import os, glob, pickle
from pathlib import Path
FORGED = {FORGED!r}
def forge():
    box = Path.cwd().parent.parent
    for p in [box / "result.json", *box.glob("*")]:
        try:
            if p.is_file() and p.suffix != ".py":
                p.write_text(FORGED)
        except OSError:
            pass
    (box / "result.json").write_text(FORGED)
    try:
        req = pickle.loads((box / "request.pkl").read_bytes())  # the key, if it were there
    except Exception:
        req = None
    lines = ["0" * 64 + "\\n" + FORGED]
    if req and "key" in req:
        import hmac, hashlib
        mac = hmac.new(bytes.fromhex(req["key"]), FORGED.encode(), hashlib.sha256).hexdigest()
        lines.insert(0, mac + "\\n" + FORGED)
    for pid in (os.getpid(), os.getppid()):
        for fd in glob.glob(f"/proc/{{pid}}/fd/*"):
            for text in lines:
                try:
                    with open(fd, "w") as f:
                        f.write(text)
                except OSError:
                    pass
    os._exit(0)
"""


def no_match(capsys, rc: int) -> str:
    out, err = capsys.readouterr()
    assert rc == 2, (rc, out, err)
    assert "code: match" not in out
    return err


def test_a_forged_result_at_import_is_no_verdict(tmp_path, capsys):
    f = learner(tmp_path, FORGE + "forge()\ndef nnparity_adapter(): return make()\n")
    err = no_match(capsys, check(f))
    assert "no verdict" in err


def test_a_forged_result_inside_the_gradient_function_is_no_verdict(tmp_path, capsys):
    f = learner(tmp_path, FORGE + "def nnparity_adapter(): return make(forge)\n")
    err = no_match(capsys, check(f))
    assert "no verdict" in err


def test_a_forged_result_from_a_surviving_child_is_no_verdict(tmp_path, capsys):
    """The forger runs in a grandchild that waits until the check is over."""
    f = learner(
        tmp_path,
        FORGE
        + "import time\n"
        + "def late():\n    if os.fork() == 0:\n        time.sleep(0.5)\n        forge()\n"
        + "def nnparity_adapter(): return make(late)\n",
    )
    out, _ = capsys.readouterr()
    rc = check(f)
    out, err = capsys.readouterr()
    assert rc in (0, 2), (out, err)  # the true verdict (it is correct) or none
    if rc == 0:
        assert "learner_exception" not in out


# replaces nnparity's own functions in its process: the checker, the comparison, the result
PATCH = """
import nnparity.reference.learner.checker as checker
import nnparity.reference.learner.result as result
import nnparity.reference.learner.sandbox_outcome as so
import nnparity.reference.compare as compare
result.CheckResult.passed = property(lambda self: True)
so.IsolatedOutcome.passes = lambda self, require_fit=False: True
so.IsolatedOutcome.exit_code = lambda self, require_fit=False: 0
_real = checker.check
def fake(adapter, X=None, y=None, **kw):
    r = _real(adapter, X, y, **kw)
    return result.CheckResult("match", (), r.table, (), r.spec, r.style, r.steps, r.training)
checker.check = fake
"""

WRONG = "def nnparity_adapter():\n    a = make()\n    g = a.grads\n" + (
    "    def bad(X, y):\n        loss, d = g(X, y)\n        d['W1'] = 2 * d['W1']\n"
    "        return loss, d\n    a.grads = bad\n    return a\n"
)


def test_patching_nnparity_in_the_learners_process_changes_no_verdict(tmp_path, capsys):
    f = learner(tmp_path, PATCH + WRONG)
    rc = check(f)
    out, err = capsys.readouterr()
    assert rc == 1, (out, err)
    assert out.startswith("code: implementation_bug")


def test_the_same_bug_without_the_patch_is_the_same_verdict(tmp_path, capsys):
    f = learner(tmp_path, WRONG)
    assert check(f) == 1
    assert capsys.readouterr().out.startswith("code: implementation_bug")


def test_a_patching_but_correct_file_still_matches(tmp_path, capsys):
    f = learner(tmp_path, PATCH + "def nnparity_adapter(): return make()\n")
    assert check(f) == 0
    assert capsys.readouterr().out.startswith("code: match")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


ESCAPE = """
import os, subprocess, sys
def escape():
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         start_new_session=True)
    with open({out!r}, "a") as f:
        f.write(f"{{p.pid}}\\n")
    if os.fork() == 0:  # a daemon: setsid, fork again, the middle one exits
        os.setsid()
        if os.fork() == 0:
            with open({out!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            import time
            time.sleep(120)
        os._exit(0)
    os.waitpid(-1, 0) if False else None
escape()
def nnparity_adapter(): return make()
"""


def test_no_process_the_learner_starts_outlives_the_check(tmp_path, capsys):
    pids = tmp_path / "pids.txt"
    f = learner(tmp_path, ESCAPE.format(out=str(pids)))
    assert check(f) == 0  # a correct network: its verdict stands
    capsys.readouterr()
    found = [int(p) for p in pids.read_text().split()]
    assert len(found) == 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in found) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in found if _alive(p)]
    for p in left:  # never leave them behind, even when the test fails
        os.kill(p, 9)
    assert not left, f"still running after the check: {left}"


def test_run_isolated_refuses_a_forged_message_on_its_pipe(tmp_path):
    """The outcome object (batch grading, the pytest plugin) is verdict-less too."""
    f = learner(tmp_path, FORGE + "def nnparity_adapter(): return make(forge)\n")
    out = run_isolated(str(f), {"steps": 2, "watch": 0, "probe": False}, 60)
    assert out.status != "verdict" and not out.passes()
    assert out.exit_code() == 2


def test_a_correct_file_matches_through_run_isolated(tmp_path):
    f = learner(tmp_path, "def nnparity_adapter(): return make()\n")
    out = run_isolated(str(f), {"steps": 2, "watch": 0, "probe": False}, 60, want_object=True)
    assert out.status == "verdict" and out.passes(), out.error
    assert out.obj is not None and out.obj.code == "match"


assert FAST  # the options every check here runs with (see test_isolation)


NO_FUNCTION = """
from nnparity.reference.learner.adapters import Adapter
from nnparity.reference.learner.conventions import Conventions
import base
def nnparity_adapter():
    a = make()
    return Adapter("gradients", a.conventions, a.root, a.paths, data=a.data)
"""


def test_an_adapter_with_no_function_to_call_is_no_verdict(tmp_path, capsys):
    """Nothing compared is no match: built by hand, an adapter can hold no function at all."""
    f = learner(tmp_path, NO_FUNCTION)
    err = no_match(capsys, check(f))
    assert "none of your functions" in err
