"""More slips planted in whole learner networks (review s28 d): a batchnorm dx with a term
summed where its mean belongs, a conv's dw rotated 180 degrees; each named with its layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_whole_layers import _fc, _load, _run, _seeded_numpy  # noqa: F401 - autouse

from nnparity.reports.cli import main


@pytest.mark.parametrize("term", ["mean", "variance"])
def test_batchnorm_dx_with_a_term_summed_where_its_mean_belongs_is_named(term):
    """Review s28 d: the simplified formula with np.sum where .mean belongs (N times the term)
    was a generic mismatch at the layer below."""
    m = _load("net_fc_bn_dropout_ok")

    def backward(dout, cache):
        xhat, gamma, var, eps = cache
        d = dout * gamma
        m1 = d.sum(axis=0) if term == "mean" else d.mean(axis=0)
        m2 = (d * xhat).sum(axis=0) if term == "variance" else (d * xhat).mean(axis=0)
        return (d - m1 - xhat * m2) / np.sqrt(var + eps), (dout * xhat).sum(0), dout.sum(0)

    m.batchnorm_backward = backward
    r = _run(_fc(m))
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "batchnorm_backward"), r.render()
    assert f"{'batch mean' if term == 'mean' else 'variance'}'s term summed" in f.evidence


def test_a_convnet_dw_rotated_180_degrees_is_conv_flip():
    """Review s28 d: dw[:, :, ::-1, ::-1] (forward and dx right) was a generic mismatch."""
    m = _load("net_convnet_ok")
    bwd = m.conv_backward_naive

    def backward(dout, cache):
        dx, dw, db = bwd(dout, cache)
        return dx, dw[:, :, ::-1, ::-1].copy(), db

    m.conv_backward_naive = backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "conv_flip", 1), r.render()
    assert "dw rotated 180 degrees" in f.evidence, r.render()


def test_a_convnet_dw_from_dout_rotated_is_conv_flip():
    """Review s32 F10: The Independent Code's kernels_gradient by convolve2d(x, dout) where
    correlate2d belongs (dout rotated 180 degrees, not dw) was a generic layer_mismatch."""
    m = _load("net_convnet_ok")
    bwd = m.conv_backward_naive

    def backward(dout, cache):
        dx, _, db = bwd(dout, cache)
        _, dw, _ = bwd(dout[:, :, ::-1, ::-1].copy(), cache)
        return dx, dw, db

    m.conv_backward_naive = backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "conv_flip", 1), r.render()
    assert "dw from dout rotated 180 degrees" in f.evidence, r.render()


def test_a_convnet_dw_of_the_last_sample_alone_is_conv_batch_sum():
    """Review s52 F3d: named by the per-layer check, a generic layer_mismatch in a whole net."""
    m = _load("net_convnet_ok")
    bwd = m.conv_backward_naive

    def backward(dout, cache):
        x, w, b, conv_param = cache
        dx, _, db = bwd(dout, cache)
        _, dw_last, _ = bwd(dout[-1:], (x[-1:], w, b, conv_param))
        return dx, dw_last, db

    m.conv_backward_naive = backward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "conv_batch_sum", 1), r.render()
    assert "last sample's dw" in f.evidence, r.render()


def test_a_col2im_written_with_assignment_is_conv_overlap(tmp_path, capsys):
    """Review s52 F3c: dxp[:, c, i, j] = dcols where np.add.at belongs (overlapping 3x3
    windows of the second conv): named by the per-layer check, a layer_mismatch in a net."""
    src = (Path(__file__).parent / "lenet2_im2col.py").read_text()
    line = "np.add.at(dxp, (slice(None), c, i, j), dcols)"
    assert line in src
    path = tmp_path / "col2im_assigned.py"
    path.write_text(src.replace(line, "dxp[:, c, i, j] = dcols"))
    assert main(["check", str(path), "--steps", "2"]) == 1
    out = capsys.readouterr().out
    assert "conv_overlap" in out.split("findings:")[1].splitlines()[1], out


def test_a_max_pool_assigning_whole_overlapping_windows_is_pool_routing(tmp_path, capsys):
    """Review s52 F3b: dx[window] = onehot * dout over maxpool(3, stride=2): a later window's
    zeros overwrite an earlier one's maximum; named by the per-layer check, a layer_mismatch
    in a whole net."""
    src = (Path(__file__).parent / "pools_overlap.py").read_text()
    line = "dx[:, :, i * s : i * s + k, j * s : j * s + k] += (\n                        m *"
    assert line in src
    path = tmp_path / "pool_window_assigned.py"
    path.write_text(src.replace(line, line.replace("+=", "=")))
    lenet = Path(__file__).parent / "lenet2_im2col.py"  # its layers, beside it
    (tmp_path / lenet.name).write_text(lenet.read_text())
    assert main(["check", str(path), "--steps", "2"]) == 1
    out = capsys.readouterr().out
    assert "pool_routing" in out.split("findings:")[1].splitlines()[1], out
    assert "assigns each whole window" in out, out
