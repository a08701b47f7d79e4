"""CDARTS and ICDARTS (Herron 2023 dissertation; Yu et al. 2022), in one place: the method's steps
(``method``: the cyclic search/evaluation networks with distillation), hierarchical ICDARTS version 1
(``hierarchical``: the skip-input macro search) and version 2 (``hierarchical_v2``: four cell types and
their placement), the tournament-style dynamic op space (``dynamic_space``) and the latency penalty
(``latency``). The entry points beyond one cell search are in :mod:`supernet.cdarts.api`
(``dynamic_space_search``, ``macro_search``, ``hierarchical_v2_search``)."""
