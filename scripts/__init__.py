"""Runnable entry points: the ``nas`` command line and the benchmark scripts."""
