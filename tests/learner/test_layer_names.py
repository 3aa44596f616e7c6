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
