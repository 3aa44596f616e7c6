"""A learner's file written to cheat gets no verdict or its true one, never a forged ``match``
(issue 9, "learner code isolated"; the review's item 4): the verdict comes from the checker's
process, where no line of the learner's code runs; the result crosses on a pipe the learner's
process does not hold, signed with a key it never sees; and no process it starts outlives the
check. Each learner is the 2-3-1 tanh network of ``tiny_learner``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from test_isolation import FAST, check, learner

from nnparity.reference.learner.sandbox import run_isolated
from nnparity.reports.cli import main

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
    try:
        (box / "result.json").write_text(FORGED)
    except OSError:  # refused under Landlock
        pass
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
    print("PID", p.pid, flush=True)
    r, w = os.pipe()
    if os.fork() == 0:  # a daemon: setsid, fork again, the middle one exits
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            import time
            time.sleep(120)
        os._exit(0)
    os.close(w)
    print("PID", os.read(r, 100).decode(), flush=True)
escape()
def nnparity_adapter(): return make()
"""


def test_no_process_the_learner_starts_outlives_the_check(tmp_path, capsys):
    f = learner(tmp_path, ESCAPE)
    rc = main(["check", str(f), *FAST, "--json"])
    sent = json.loads(capsys.readouterr().out)
    assert rc == 0, sent  # a correct network: its verdict stands
    found = [int(ln.split()[1]) for ln in sent["output"].splitlines() if ln.startswith("PID")]
    assert len(found) == 2, sent["output"]
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in found) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in found if _alive(p)]
    for p in left:  # never leave them behind, even when the test fails
        os.kill(p, 9)
    assert not left, f"still running after the check: {left}"


def _landlock_abi() -> int:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.syscall(ctypes.c_long(444), None, ctypes.c_long(0), ctypes.c_long(1)))
    except (OSError, AttributeError):
        return -1


PROBE = """
import os
ppid = os.getppid()
def attempt(what, fn):
    try:
        fn()
        print("PROBE", what, "done", flush=True)
    except OSError as e:
        print("PROBE", what, type(e).__name__, flush=True)
def fds():
    for n in os.listdir(f"/proc/{ppid}/fd"):
        open(f"/proc/{ppid}/fd/{n}", "w").close()
attempt("memory", lambda: open(f"/proc/{ppid}/mem", "rb").close())
attempt("descriptors", fds)
attempt("outside", lambda: open(OUTSIDE, "w").write("overwritten"))
attempt("inside", lambda: open("mine.txt", "w").write("ok"))
attempt("signal", lambda: os.kill(ppid, 0))
def nnparity_adapter(): return make()
"""


@pytest.mark.skipif(_landlock_abi() < 1, reason="Landlock is not available on this system")
def test_the_learners_process_cannot_reach_the_checker_nor_write_outside_its_copy(tmp_path, capsys):
    """Landlock (``landlock.confine``): no memory, no descriptors of the checker's process, no
    write outside the copy of its folder and its TMPDIR; its own folder stays writable."""
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("the grader's file")
    f = learner(tmp_path, f"OUTSIDE = {str(outside)!r}\n" + PROBE)
    rc = main(["check", str(f), *FAST, "--json"])
    sent = json.loads(capsys.readouterr().out)
    assert rc == 0, sent
    seen = dict(ln.split()[1:3] for ln in sent["output"].splitlines() if ln.startswith("PROBE"))
    want = {"memory": "PermissionError", "descriptors": "PermissionError"}
    want |= {"outside": "PermissionError", "inside": "done"}
    if _landlock_abi() >= 6:  # signals scoped too: it cannot kill the checker
        want["signal"] = "PermissionError"
    assert {k: seen.get(k) for k in want} == want, sent["output"]
    assert outside.read_text() == "the grader's file"


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


GARBAGE = """
import os, stat
def scribble():
    for n in os.listdir("/proc/self/fd"):
        fd = int(n)
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, b"\\x10\\x00\\x00\\x00\\x00\\x00\\x00\\x00{not json at all}")
        except OSError:
            pass
def nnparity_adapter(): return make(scribble)
"""


def test_garbage_on_its_own_pipes_is_no_verdict_never_our_crash(tmp_path, capsys):
    """The learner's process holds the wire's pipes: what it writes there is read as a reply
    nnparity cannot read (exit 2), not as a verdict nor as a bug of ours (exit 3)."""
    f = learner(tmp_path, GARBAGE)
    err = no_match(capsys, check(f))
    assert "cannot read" in err or "no verdict" in err, err


def test_an_adapter_with_no_function_is_refused_in_process_too():
    """``check`` called directly (no child process) refuses it as well, never ``match``."""
    import numpy as np

    from nnparity.reference.learner import check as check_in_process
    from nnparity.reference.learner import from_gradients
    from nnparity.reference.learner.adapters import Adapter
    from nnparity.reference.learner.paths import LearnerError

    p = {"W1": np.ones((2, 3)), "b1": np.zeros(3)}
    a = from_gradients(
        p, ["W1", "b1"], lambda X, y: p, sizes=[2, 3], activations="identity", loss="mse"
    )
    bare = Adapter("gradients", a.conventions, a.root, a.paths)
    X, y = np.ones((4, 2)), np.zeros((4, 3))
    with pytest.raises(LearnerError, match="none of your functions to call"):
        check_in_process(bare, X, y)
