"""Shared fixtures of the example guard suite."""

from __future__ import annotations

import pytest
from sentiment_service import SentimentService, load_service


@pytest.fixture(scope="session")
def service() -> SentimentService:
    """The sentiment service, trained once per session (well under a second)."""
    return load_service()
