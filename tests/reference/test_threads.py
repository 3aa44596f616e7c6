"""``limited(n)``: both libraries run the block at n threads and get their counts back; a
library already at n is not set again (setting a pool's own count again cost a one-step parity
run about 290 us at one thread)."""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_info

from nnparity.reference import threads
from nnparity.reference.threads import limited


def _blas() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_the_block_runs_at_n_threads_and_the_counts_come_back():
    before_t, before_b = torch.get_num_threads(), _blas()
    with limited(1):
        assert torch.get_num_threads() == 1 and set(_blas()) <= {1}
        with limited(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    assert (torch.get_num_threads(), _blas()) == (before_t, before_b)


def test_a_count_already_set_is_not_set_again(monkeypatch):
    calls = []
    with limited(1):
        monkeypatch.setattr(threads.torch, "set_num_threads", lambda n: calls.append(n))
        for c in threads._controller().lib_controllers:
            monkeypatch.setattr(c, "set_num_threads", lambda n: calls.append(n))
        with limited(1):
            pass
        monkeypatch.undo()
    assert calls == []
