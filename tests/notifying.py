"""Shared values of the end-of-sweep notice tests: what the sample cluster leaves to delete, and a
webhook URL whose path is a secret no log line may show."""

from __future__ import annotations

DELETED = 6  # leftovers in the sample cluster
WEBHOOK = "https://hooks.example.com/services/T000/B000/s3cr3tT0k3n"
