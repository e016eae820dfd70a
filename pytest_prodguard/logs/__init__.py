"""Log contracts: capture what an application logs, check it, and detect secrets and PII.

No pytest here: the plugin (``pytest_prodguard.plugin.logs``) wires the
``structured_logs`` fixture and the ``log_contract`` marker to these pieces.

- :mod:`~pytest_prodguard.logs.detectors`: named secret/PII detectors, ``find``,
  ``mask``, ``register_detector``;
- :class:`LogCapture`: every stdlib/structlog record, as the app's handlers render it;
- :func:`parse_contract` / :func:`check_records`: the contract and its verdict;
- :func:`records_from_file`: a log file as records (``prodguard logs check``).
"""

from __future__ import annotations

from pytest_prodguard.logs.capture import LogCapture
from pytest_prodguard.logs.contract import (
    LogContract,
    LogVerdict,
    Violation,
    check_records,
    parse_contract,
)
from pytest_prodguard.logs.detectors import (
    DETECTORS,
    Detector,
    Finding,
    find,
    mask,
    register_detector,
)
from pytest_prodguard.logs.files import records_from_file
from pytest_prodguard.logs.record import CapturedRecord

__all__ = [
    "DETECTORS",
    "CapturedRecord",
    "Detector",
    "Finding",
    "LogCapture",
    "LogContract",
    "LogVerdict",
    "Violation",
    "check_records",
    "find",
    "mask",
    "parse_contract",
    "records_from_file",
    "register_detector",
]
