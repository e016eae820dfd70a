"""Log contracts: capture what an application logs, check it, and detect secrets and PII.

No pytest here: the plugin (``pytest_prodguard.plugin.logs``) wires the
``structured_logs`` fixture and the ``log_contract`` marker to these pieces.
"""

from __future__ import annotations

from pytest_prodguard.logs.detectors import (
    DETECTORS,
    Detector,
    Finding,
    find,
    mask,
    register_detector,
)

__all__ = ["DETECTORS", "Detector", "Finding", "find", "mask", "register_detector"]
