"""sweeper: deletes the admission policies and bindings Gatekeeper generated and left behind."""

__version__ = "0.1.0"
