"""Production evidence: log, trace and metric readers, error groups, trace timelines.

Plain Python (no pytest). ``prodguard triage`` and ``prodguard incidents new
--from-log`` are built on it, and an incident's guard replays its captured request
with :func:`replay_incident`.
"""

from __future__ import annotations

from pytest_prodguard.forensics.evidence import Evidence, gather
from pytest_prodguard.forensics.fingerprint import fingerprint_of, mask_message, signature
from pytest_prodguard.forensics.logs import parse_traceback, read_log, read_logs
from pytest_prodguard.forensics.masking import mask_text, mask_value
from pytest_prodguard.forensics.metrics import MetricPoint, read_metrics
from pytest_prodguard.forensics.records import ExceptionInfo, Frame, LogRecord, ReadStats
from pytest_prodguard.forensics.replay import replay, replay_incident, resolve_entry
from pytest_prodguard.forensics.stats import binomial_sf, concentration, rate_rise
from pytest_prodguard.forensics.timeline import TraceTimeline, trace_timeline
from pytest_prodguard.forensics.traces import Span, critical_path, read_traces
from pytest_prodguard.forensics.triage import ErrorGroup, GroupBuilder, Triage, triage

__all__ = [
    "ErrorGroup",
    "Evidence",
    "ExceptionInfo",
    "Frame",
    "GroupBuilder",
    "LogRecord",
    "MetricPoint",
    "ReadStats",
    "Span",
    "TraceTimeline",
    "Triage",
    "binomial_sf",
    "concentration",
    "critical_path",
    "fingerprint_of",
    "gather",
    "mask_message",
    "mask_text",
    "mask_value",
    "parse_traceback",
    "rate_rise",
    "read_log",
    "read_logs",
    "read_metrics",
    "read_traces",
    "replay",
    "replay_incident",
    "resolve_entry",
    "signature",
    "trace_timeline",
    "triage",
]
