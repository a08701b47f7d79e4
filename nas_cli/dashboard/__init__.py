"""``nas dashboard``: a live web page over a pool (candidates, the NOSH pyramid, workers) and the
differentiable searches of a run folder (mixing weights, skips, eigenvalues). ``views`` builds the pages'
JSON, ``server`` serves it with the pages in ``static/``."""
