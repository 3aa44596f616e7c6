"""The PyTorch side: the twin of a spec, parameter copies, the parity engine, tolerances,
learner adapters and bug diagnosis."""
