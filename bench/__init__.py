"""Benchmarks of the broker; run them as ``python -m bench.<name>`` from the repository root."""
