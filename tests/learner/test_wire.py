"""The wire between the checker and the learner's process carries data, never code: structures
round-trip with their types (tuple vs list, dict keys, NumPy scalars, dtypes); an object that
cannot cross becomes a handle named after its type; a dtype that could hold objects is refused."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from nnparity.reference.learner.wire import Handle, WireError, decode, encode, recv, send


def _roundtrip(x, keep=None):
    r, w = os.pipe()
    try:
        arrays: list = []
        send(w, {"body": encode(x, arrays, keep)}, arrays)
        h, got = recv(r)
        return decode(h["body"], got, None)
    finally:
        os.close(r)
        os.close(w)


def test_structures_keep_their_types():
    x = (
        1.5,
        {"W1": np.arange(6.0).reshape(2, 3), 3: [np.float32(2.0), None, True, "s"]},
        [np.zeros((0, 2)), np.array(7, dtype=np.int64), np.ones(2, dtype=">f8")],
    )
    y = _roundtrip(x)
    assert isinstance(y, tuple) and isinstance(y[2], list) and set(y[1]) == {"W1", 3}
    assert np.array_equal(y[1]["W1"], x[1]["W1"]) and y[1]["W1"].flags.writeable
    assert type(y[1][3][0]) is np.float32 and y[1][3][1:] == [None, True, "s"]
    assert y[2][0].shape == (0, 2) and y[2][1].dtype == np.int64 and y[2][1].shape == ()
    assert y[2][2].dtype == np.dtype(">f8")


def test_an_object_that_cannot_cross_is_a_handle_named_after_its_type():
    class Cache:
        pass

    kept = []
    y = _roundtrip([Cache(), np.array([object()])], keep=lambda o: kept.append(o) or len(kept))
    assert all(isinstance(h, Handle) for h in y) and type(y[0]).__name__ == "Cache"
    with pytest.raises(WireError):
        encode(Cache(), [], None)  # the checker's side keeps nothing: it refuses


def test_a_dtype_that_could_hold_objects_is_refused():
    r, w = os.pipe()
    head = json.dumps({"arrays": [["|O8", [1]]]}).encode()
    os.write(w, struct.pack("<Q", len(head)) + head + b"\0" * 8)
    with pytest.raises(WireError, match="cannot cross"):
        recv(r)
    os.close(r)
    os.close(w)
