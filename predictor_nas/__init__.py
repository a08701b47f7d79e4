"""Search over discrete candidates: graph encodings, the ranking predictor, zero-cost proxies,
non-uniform successive halving, evaluators, the RANK-NOSH loop and baselines."""
