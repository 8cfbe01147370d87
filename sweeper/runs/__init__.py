"""The runs: one operation each, from settings to a result and an exit code.

``sweep`` (connect, gather, plan, apply, report), ``execute`` (the apply phase: guards,
re-check, DELETE with preconditions), ``fleet`` (one sweep per context), ``restore`` and
``explain``. They take validated settings, never raw command-line options.

May import ``sweeper.core``, ``sweeper.cluster`` and ``sweeper.output``; never ``cli``.
"""
