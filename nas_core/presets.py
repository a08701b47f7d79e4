"""Named instances of the vocabulary, in one place: network sizes and the published training protocols.

The search strategies' own presets compose these by name: the candidates' ``quick``/``gpu`` training of a
RANK-NOSH study (:class:`predictor_nas.study.CandidateTraining`), the differentiable search's ``quick``
preset (:func:`supernet.api.search_config`) and the zero-cost table's network
(:data:`predictor_nas.proxy_table.TABULAR_SETTINGS`).
"""

from __future__ import annotations

from typing import Any

from nas_core.registry import Registry
from nas_core.vocabulary import NetworkSize

#: network sizes by name (:class:`NetworkSize`; DARTS networks have 3N + 2 cells)
NETWORKS: Registry[NetworkSize] = Registry("network size")
#: NAS-Bench-201's network (Dong & Yang 2020): C = 16, N = 5
NETWORKS.add("nb201", NetworkSize(16, 5))
#: DARTS's search network (Liu et al. 2019, §3.3): 16 channels, 8 cells
NETWORKS.add("darts-search", NetworkSize(16, 2))
#: DARTS's CIFAR-10 evaluation network (Liu et al. 2019, §3.3): 36 channels, 20 cells
NETWORKS.add("darts-eval", NetworkSize(36, 6))
#: a few CPU minutes: 8 channels, one cell per stage (5 cells on DARTS spaces)
NETWORKS.add("quick", NetworkSize(8, 1))


def search_network(space: str) -> NetworkSize:
    """The papers' search network on ``space``: NAS-Bench-201's C=16 N=5 on NB201-style cell spaces, DARTS's
    8 cells of 16 channels on DARTS-style ones."""
    from nas_core.spaces import get_space  # here: the spaces import the vocabulary this module builds on

    return NETWORKS["nb201" if get_space(space).family == "nb201" else "darts-search"]


#: the published retraining protocols: :class:`nas_core.training.TrainConfig` fields over its defaults (the
#: NAS-Bench-201 200-epoch recipe) and the network each protocol trains
PROTOCOLS: Registry[dict[str, Any]] = Registry("protocol")
#: NAS-Bench-201's 200-epoch recipe (SGD 0.1 Nesterov, cosine, wd 5e-4, batch 256) on its C=16, N=5 network
PROTOCOLS.add("nb201", {"train": {}, "network": NETWORKS["nb201"]})
#: DARTS's CIFAR-10 evaluation (600 epochs, batch 96, SGD 0.025 cosine, wd 3e-4, cutout 16, drop-path 0.2,
#: auxiliary head 0.4) on its 20-cell, 36-channel network
PROTOCOLS.add(
    "darts-eval",
    {
        "train": dict(
            epochs=600,
            batch_size=96,
            lr=0.025,
            nesterov=False,
            weight_decay=3e-4,
            grad_clip=5.0,
            cutout=16,
            drop_path_prob=0.2,
            auxiliary_weight=0.4,
        ),
        "network": NETWORKS["darts-eval"],
    },
)
