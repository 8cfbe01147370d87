"""The pure core: the decision table and everything it needs to decide.

Gatekeeper's rules (names, ownership, what a template or constraint wants, what its
arguments and version say), the records read from the API, the inventory snapshot, the
planner and its verdicts, the re-check judge, the summary, reasons and exit codes,
settings, the explanation and restore-line models, and API paths as strings.

May import only the standard library and ``sweeper.core`` itself: no network, no clock it
did not receive, no third-party package (``tests/test_boundaries.py`` proves it).
"""
