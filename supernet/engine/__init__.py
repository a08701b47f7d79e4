"""The weight-sharing supernet and the loop that searches it (DARTS's bilevel alternation, Liu et al. 2019,
Alg. 1), shared by every method of :mod:`supernet.methods`: the mixed-op supernet (``supernet``), the search
loop and its config (``diff_search``), the rules that derive a cell from it (``selection``), its training
signatures (``signatures``), data-parallel helpers (``distributed``) and the candidates it proposes to a
RANK-NOSH pool (``proposals``)."""
