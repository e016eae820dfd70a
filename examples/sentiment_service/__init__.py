"""A small but real ML service: a torch bag-of-words sentiment classifier.

It trains in well under a second on a corpus generated from a fixed seed, so
the example guard suite needs no download. ``load_service()`` returns the
service; ``handle(payload)`` is its JSON API.

Switches that reproduce past incidents on purpose (see examples/README.md):

- ``PRODGUARD_EXAMPLE_CASE_SENSITIVE=1``: a case-sensitive tokenizer, so
  "GREAT" is an unknown word (the robustness suite then fails).
- ``PRODGUARD_EXAMPLE_SLOW_JSON=1``: the slow serialisation path of
  INC-2025-005 (the latency suite then fails, with a flamegraph).
- ``PRODGUARD_EXAMPLE_LOG_PAYLOADS=1``: request bodies are logged, so users'
  email addresses reach the logs (the log-contract suite then fails).
"""

from __future__ import annotations

from sentiment_service.service import SentimentService, load_service

__all__ = ["SentimentService", "load_service"]
