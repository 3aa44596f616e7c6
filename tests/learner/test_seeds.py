"""The five learner programs of ../shared/seeds/, rewritten in examples/learners/ with the
same structure and the same mistakes: each gets the verdict and the findings it deserves."""

from __future__ import annotations


def test_seed000_relu_xor_names_both_slips(run_example):
    r = run_example("seed000_relu_xor.py", steps=8)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["derivative_of_output", "updated_weights_used"]
    out, upd = r.findings
    assert out.params == ("Wo",) and out.layer == 2 and out.step == 1
    assert "no sigma' at all" in out.evidence and "c = 1.0000, cos = 1.0000" in out.evidence
    assert "declare loss='bce'" in out.evidence
    assert upd.params == ("Ws",) and upd.layer == 1 and upd.step == 1
    assert "Wo after its update" in upd.evidence
    assert "before updating" in upd.hint


def test_seed001_nan_is_instability_where_the_output_saturates(run_example):
    r = run_example("seed001_leaky_bce_nan.py", steps=10)  # watched on to step 300
    assert r.verdict == "numerical_instability"
    assert r.codes() == ["nonfinite", "no_bias", "capacity"]  # [0, 0, 0] -> 0 needs a bias
    assert r.training.outcome == "model_limitation" and r.training_codes() == [
        "no_bias",
        "capacity",
    ]
    f = r.findings[0]
    assert f.step == 250 and f.kind == "instability" and f.params == ("w_ij",)
    assert "saturated to exactly 1.0" in f.evidence
    assert "dl_jk = -y / a_jk + (1 - y) / (1 - a_jk)" in f.evidence  # the learner's own line
    assert "PyTorch at the same weights stays finite" in f.evidence
    assert "stays finite through step 250" in f.evidence
    assert "logits" in f.hint


def test_seed001_agrees_with_pytorch_before_the_nan(run_example):
    r = run_example("seed001_leaky_bce_nan.py", steps=249, watch=0)
    assert not [x for x in r.records if not x.passed]
    # every step before the NaN agrees; the NaN itself is its BCE backward at a saturated
    # output, which one step at saturated weights shows (PyTorch's training reaches it)
    assert r.verdict == "numerical_instability", r.render()
    assert r.findings[0].code == "nonfinite_at_saturation", r.render()


def test_seed002_sigmoid_used_as_relu_derivative_at_both_layers(run_example):
    r = run_example("seed002_relu_output.py", steps=8)
    assert r.verdict == "implementation_bug"
    assert r.codes() == ["wrong_activation_derivative"] * 2
    top, hidden = r.findings
    assert (top.params, top.layer, hidden.params, hidden.layer) == (("W2",), 2, ("W1",), 1)
    for f in r.findings:
        assert "sigma(z), the activation itself, in place of relu'(z)" in f.evidence
    assert top.step == 2  # the first sample, (0, 0), gives zero gradients on both sides


def test_seed003_code_matches_and_the_model_lacks_a_bias(run_example):
    r = run_example("seed003_two_neurons.py", steps=10)
    assert (r.code, r.training.outcome) == ("match", "model_limitation")
    # its step returns -0.5 sum (d - z)^2: the loss's negative, said as a note (review s45 F3)
    assert set(r.codes()) == {"capacity", "no_bias", "loss_value_mismatch"}
    assert "ratio -1.0000" in r.finding("loss_value_mismatch").evidence
    assert all(f.kind == "limitation" for f in r.findings if f.code != "loss_value_mismatch")
    assert all(row.first_bad_step is None for row in r.table if row.stage != "loss")
    assert "1/2 classified" in r.finding("capacity").evidence  # 0/1 targets: by accuracy
    assert r.training.criterion.startswith("accuracy")
    head = r.render().splitlines()[:2]
    assert head[0] == "code: match"
    assert head[1].startswith("training: model_limitation (no_bias, capacity): 1/2 classified")


def test_seed004_forward_only_dict_params_match(run_example):
    r = run_example("seed004_forward_dict.py", steps=5)
    assert r.verdict == "match" and r.findings == ()
    assert [row.stage for row in r.table] == ["forward"]
