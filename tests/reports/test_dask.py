"""``--scheduler``: sweeps and batch checks on dask.distributed (issue 16). A LocalCluster of 2
workers writes the same report bytes as the local pool of 2; a worker killed mid-sweep loses
nothing (its batch runs again); a configuration that kills every worker it runs on becomes an
error outcome alone; ``nnparity report --scheduler`` refuses a bad value with exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip(
    "distributed", reason="dask.distributed is the optional extra nnparity[dask] (CI installs it)"
)
import dask  # noqa: E402
from report_helpers import PLANTED_SEED, small_plan  # noqa: E402

from nnparity.reports.checkpoint import Outcome  # noqa: E402
from nnparity.reports.cli import main  # noqa: E402
from nnparity.reports.matrix_file import Plan  # noqa: E402
from nnparity.reports.report import make_report  # noqa: E402
from nnparity.reports.sweep import DIED, sweep  # noqa: E402
from nnparity.scratch import Spec  # noqa: E402

MARK = "NNPARITY_TEST_KILL_MARK"


def dies_once(spec: str, mode: str, steps: int) -> Outcome:
    """Kills its worker the first time it meets the planted seed (a marker file remembers)."""
    mark = Path(os.environ[MARK])
    if Spec.parse(spec).seed == PLANTED_SEED and not mark.exists():
        mark.write_text(str(os.getpid()))
        os._exit(1)
    return Outcome(spec, mode, "pass")


def always_dies(spec: str, mode: str, steps: int) -> Outcome:
    if Spec.parse(spec).seed == PLANTED_SEED:
        os._exit(1)
    return Outcome(spec, mode, "pass")


def tasks(n: int = 12) -> list[tuple[str, str]]:
    """``n`` cheap configurations, seeds 0 .. n-1 (the planted seed among them)."""
    text = "3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1) seed={}"
    return [(str(Spec.parse(text.format(i))), "free") for i in range(n)]


def test_a_local_cluster_writes_the_local_pools_bytes(tmp_path):
    plan = Plan("tiny", small_plan().specs[:4], 2)
    a = make_report(plan, tmp_path / "pool", jobs=2, progress=False)
    b = make_report(plan, tmp_path / "dask", scheduler="local:2", progress=False)
    assert sorted(a.files) == sorted(b.files)
    for key, path in a.files.items():
        assert Path(path).read_bytes() == Path(b.files[key]).read_bytes(), key


def test_a_worker_killed_mid_sweep_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(MARK, str(tmp_path / "killed"))
    todo = tasks()
    assert any(Spec.parse(s).seed == PLANTED_SEED for s, _ in todo)
    got = sweep(todo, 1, tmp_path / "ck.jsonl", scheduler="local:2", runner=dies_once,
                progress=False, log=lambda s: None)  # fmt: skip
    assert (tmp_path / "killed").is_file(), "no worker was killed: the test proves nothing"
    assert [o.key for o in got] == todo and {o.status for o in got} == {"pass"}
    lines = (tmp_path / "ck.jsonl").read_text().splitlines()
    assert len(lines) == len(todo) + 1  # the header and every configuration, once


def test_a_configuration_that_kills_every_worker_is_an_error_alone(tmp_path):
    todo = tasks(6)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        got = sweep(todo, 1, tmp_path / "ck.jsonl", scheduler="local:2", runner=always_dies,
                    progress=False, log=lambda s: None)  # fmt: skip
    by = {o.key: o for o in got}
    assert [o.key for o in got] == todo
    for key, o in by.items():
        if Spec.parse(key[0]).seed == PLANTED_SEED:
            assert (o.status, o.error) == ("error", DIED)
        else:
            assert o.status == "pass", o


@pytest.mark.parametrize("value", ["local:0", "local:x", ""])
def test_report_refuses_a_bad_scheduler(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as e:
        main(["report", "--matrix", "quick", "--out", str(tmp_path), "--scheduler", value])
    assert e.value.code == 2
    assert "--scheduler" in capsys.readouterr().err


def test_report_names_the_extra_or_the_unreachable_scheduler(tmp_path, capsys):
    rc = main(["report", "--matrix", "quick", "--out", str(tmp_path / "o"), "--no-progress",
               "--scheduler", "tcp://127.0.0.1:9"])  # fmt: skip
    assert rc == 2
    assert "cannot reach the dask scheduler at 'tcp://127.0.0.1:9'" in capsys.readouterr().err


def test_a_batch_check_on_a_local_cluster(tmp_path):
    from test_grade import FAST, classroom, rows

    classroom(tmp_path / "s", ["good.py", "buggy.py"])
    out = tmp_path / "g"
    rc = main(["check", str(tmp_path / "s"), "--out", str(out), "--scheduler", "local:2", *FAST])
    assert rc == 1
    got = {n: (r["status"], r["code"]) for n, r in rows(out).items()}
    assert got == {"good.py": ("verdict", "match"), "buggy.py": ("verdict", "implementation_bug")}
