"""Shared fixtures of the example guard suite."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings
from sentiment_service import SentimentService, load_service

# Derandomized in CI so the guard suite gives the same verdict on every run;
# HYPOTHESIS_PROFILE=explore searches afresh each time.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def service() -> SentimentService:
    """The sentiment service, trained once per session (well under a second)."""
    return load_service()
