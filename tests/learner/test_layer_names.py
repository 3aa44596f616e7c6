"""A layer's slip named by its class, not by its symptom (review s23c F13, F17): db summed over
the features (``dout.sum(axis=1)``) was ``layer_shape``, "db must have the shape of b"; it is
``bias_reduction`` with the axis to sum. The correct layer still matches."""

from __future__ import annotations

import layer_impls as L

from nnparity.reference.learner import layer_check
from nnparity.reference.learner.per_layer import check_layer

OK = L.example("layers_affine_ok")


def test_db_summed_over_the_features_is_bias_reduction():
    assert check_layer(OK.nnparity_layers()[0]).code == "match"

    def backward(dout, cache):
        dx, dw, _ = OK.affine_backward(dout, cache)
        return dx, dw, dout.sum(axis=1)

    v = check_layer(layer_check(OK.affine_forward, backward, layer="affine"))
    (f,) = v.findings
    assert f.code == "bias_reduction", v.render()
    assert "summed over the features" in f.evidence and "dout.sum(axis=0)" in f.hint


def test_a_backward_returning_a_dict_is_read_by_its_names_or_told_the_tuple():
    """Review s23c F17: a dict of the three gradients was "returned 1 value(s)"."""

    def by_name(dout, cache):
        dx, dw, db = OK.affine_backward(dout, cache)
        return {"db": db, "dx": dx, "dw": dw}

    assert check_layer(layer_check(OK.affine_forward, by_name, layer="affine")).code == "match"

    def other_names(dout, cache):
        dx, dw, db = OK.affine_backward(dout, cache)
        return {"grad_x": dx, "grad_w": dw, "grad_b": db}

    v = check_layer(layer_check(OK.affine_forward, other_names, layer="affine"))
    assert v.findings[0].code == "layer_error", v.render()
    assert "returned a dict with keys grad_x, grad_w, grad_b" in v.render(), v.render()
    assert "the tuple (dx, dw, db)" in v.render()
