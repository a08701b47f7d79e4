"""The ``nas`` command line: flags -> the configs of the library API -> one call; progress bars, plots and
run directories. No search is assembled here (``predictor_nas.study``, ``supernet.api``,
``nas_core.training.retrain`` do that); the benchmarks beside this package call the API too."""

from nas_cli.app import build_parser, main

__all__ = ["build_parser", "main"]
