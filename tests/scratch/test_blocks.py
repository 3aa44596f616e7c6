"""blockwise: a kernel run in cache-sized blocks gives the bits of one call on the whole."""

import numpy as np
import pytest

from nnparity.scratch.blocks import MIN_SIZE, block_size, blockwise
from nnparity.scratch.optimizers import optimizers


def _axpy(lr: float):
    def kernel(d, p, out):
        np.multiply(d, -lr, out=out)
        out += p

    return kernel


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_blocks_give_the_bits_of_one_call(dtype, order):
    rng = np.random.default_rng(0)
    shape = (MIN_SIZE // 512 + 3, 512)  # above MIN_SIZE, not a whole number of blocks
    n = block_size(dtype)
    assert (shape[0] * shape[1]) % n and shape[0] * shape[1] > n  # more than one, one partial
    d, p = (np.asarray(rng.standard_normal(shape), dtype, order=order) for _ in range(2))
    whole, blocked = np.empty_like(d), np.empty_like(d)
    _axpy(0.37)(d, p, whole)
    calls = []

    def counting(*a):
        calls.append(a[0].size)
        _axpy(0.37)(*a)

    blockwise(counting, d, p, blocked)
    np.testing.assert_array_equal(blocked, whole)
    assert blocked.tobytes() == whole.tobytes()
    # C order runs in blocks; a Fortran-ordered array is not flattened, it runs whole
    assert calls == (
        [d.size] if order == "F" else [min(n, d.size - s) for s in range(0, d.size, n)]
    )


def _calls(*arrays):
    sizes = []
    blockwise(lambda *a: sizes.append(a[0].size), *arrays)
    return sizes


def test_small_or_unlike_arrays_run_in_one_call():
    small, big = np.ones(MIN_SIZE - 1), np.ones(MIN_SIZE)
    assert _calls(small, small) == [small.size]
    assert _calls(big, np.ones((MIN_SIZE // 2, 2))) == [big.size]  # shapes differ
    assert _calls(big, np.ones(2 * MIN_SIZE)[::2]) == [big.size]  # not contiguous
    n = block_size(big.dtype)
    assert _calls(big, big) == [n] * (MIN_SIZE // n)


@pytest.mark.parametrize("donate", [False, True])
def test_a_large_sgd_update_is_p_minus_lr_g_bit_for_bit(donate):
    rng = np.random.default_rng(1)
    p = {"W1": rng.standard_normal((700, 800)), "b1": rng.standard_normal(800)}
    g = {k: rng.standard_normal(v.shape) for k, v in p.items()}
    want = {k: np.multiply(g[k], -0.05) + p[k] for k in p}
    opt = optimizers["sgd"].build({"lr": 0.05})
    got, _ = opt.update({k: v.copy() for k, v in g.items()}, opt.init(p), p, donate=donate)
    for k in p:
        assert got[k].tobytes() == want[k].tobytes()
