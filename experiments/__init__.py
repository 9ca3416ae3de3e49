"""Benchmarks and ablation studies: python -m experiments.<name>."""
