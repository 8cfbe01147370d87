"""The command line: click commands and options, environment variables, the demo.

Turns arguments into the core's ``Settings`` (usage errors exit 2, one line, no
traceback) and hands them to a run. The console script is ``sweeper.cli.commands:main``.

May import every other layer and ``sweeper.testing`` (the demo serves its fake cluster);
nothing imports it.
"""
