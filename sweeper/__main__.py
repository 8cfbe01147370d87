"""Entry point for ``python -m sweeper``."""

from sweeper.cli.commands import main

main()
