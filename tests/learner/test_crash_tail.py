"""What a learner sees of its own exception (crash.learner_tail)."""

from __future__ import annotations

import numpy as np
import pytest


def test_an_error_raised_deep_in_numpy_shows_the_learners_line_that_called_it():
    """Review s19b: ``np.loadtxt('train.csv')`` at import showed four frames of NumPy's own and
    not the program's line; a missing file also says where relative paths are read from."""
    from nnparity.reference.learner.crash import learner_tail

    def load():
        return np.loadtxt("no_such_file_here.csv", delimiter=",")

    with pytest.raises(FileNotFoundError) as e:
        load()
    tail = learner_tail(e.value)
    assert 'np.loadtxt("no_such_file_here.csv", delimiter=",")' in tail, tail
    assert tail.count("File ") == 4 and "a relative path is read from there" in tail, tail
