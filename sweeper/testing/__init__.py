"""Test helpers shipped with the sweeper: a fake Kubernetes API server over real HTTP.

Used by the project's tests, `sweeper demo` and the benchmark; never by a real sweep.
May import ``sweeper.core`` and ``sweeper.cluster`` (its snapshot reads through the real
gather); never ``output``, ``runs`` or ``cli``.
"""

from sweeper.testing.server import FakeApiServer, RecordedRequest
from sweeper.testing.store import Fault

__all__ = ["FakeApiServer", "Fault", "RecordedRequest"]
