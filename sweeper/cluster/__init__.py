"""The cluster layer: all I/O with the API server.

Kubeconfig and in-cluster configuration, the client (discovery, paginated LIST, GET,
DELETE with preconditions), the one retry policy and rate limiter, and ``gather``, which
turns the reads into the core's ``Inventory``. It decides nothing about what is dangling.

May import ``sweeper.core``, the standard library and the ``kubernetes``/``urllib3``/
``tenacity`` packages; never ``output``, ``runs`` or ``cli``.
"""
