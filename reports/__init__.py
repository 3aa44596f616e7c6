"""Sweeps, reports and the command line. The only package that knows pandas."""
