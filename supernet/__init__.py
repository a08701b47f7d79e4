"""Networks and how they are trained: operations, search spaces, child networks, data, training,
the weight-sharing supernet and the differentiable search methods."""
