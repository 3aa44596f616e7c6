"""The progress bar shows no ETA until the workers are warm (the first configuration pays the
imports), then the rate and ETA of the configurations finished since."""

from __future__ import annotations

from nnparity.reports.checkpoint import Outcome
from nnparity.reports.sweep import sweep


def cheap(spec: str, mode: str, steps: int) -> Outcome:
    return Outcome(spec, mode, "pass")


def test_no_eta_while_warming_then_the_rate_since_warm(tmp_path, capsys):
    tasks = [(c, "free") for c in "abcdef"]
    sweep(tasks, 1, tmp_path / "c.jsonl", jobs=1, runner=cheap)
    frames = [f for f in capsys.readouterr().err.replace("\r", "\n").split("\n") if f.strip()]
    assert "warming up: no ETA yet" in frames[0] and "0/6" in frames[0]
    assert "warming up" not in frames[-1] and "6/6" in frames[-1]
    assert "config/s" in frames[-1]  # a rate, counted from the first finished configuration
