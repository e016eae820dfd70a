"""Generate the sentiment service's recorded rollout metrics (seeded).

Run from anywhere (``python examples/canary/make_data.py``); it rewrites
``baseline.json``, ``canary_good.json`` and ``canary_bad.json`` next to this
script, byte for byte the same on every run.

The story: release 1.5.0 of the sentiment service goes out as a canary beside
the running 1.4.2 (the baseline), each serving 2,000 requests a minute for ten
minutes. The monitoring system exports, per minute and per deployment,
requests and 5xx errors of ``/predict``, its latency as a Prometheus histogram,
CPU and worker-pool utilisation, and the top error groups of the window.

- ``canary_good.json``: 1.5.0 as released: same error rate and latency.
- ``canary_bad.json``: a build where the tokenizer cache was left off: timeouts
  on long texts (1.2% errors instead of 0.5%), a p99 twice as slow with the
  median unchanged, CPU above its 80% limit.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from pytest_prodguard.canary.simulation import ArmSpec, LatencyShape, simulated_rollout

SEED = 20261206
MINUTES = 10
REQUESTS_PER_MINUTE = 2_000
WINDOW = {"start": "2026-12-06T05:00:00Z", "end": "2026-12-06T05:10:00Z"}
LATENCY = LatencyShape(median=0.045, sigma=0.45)
HERE = pathlib.Path(__file__).parent


def _with_context(
    arm: dict[str, Any], rng: np.random.Generator, version: str, cpu: float, groups: dict[str, int]
) -> dict[str, Any]:
    for metric in arm["metrics"]:
        metric["name"] = {"errors": "predict_errors", "latency": "predict_latency"}[metric["name"]]
    readings = {"cpu": (cpu, 0.8), "worker_pool": (0.45, 0.9)}
    for name, (level, limit) in readings.items():
        values = [round(float(v), 3) for v in np.clip(rng.normal(level, 0.02, MINUTES), 0, 1)]
        arm["metrics"].append(
            {"name": name, "type": "saturation", "values": values, "limit": limit}
        )
    return {
        "window": WINDOW,
        "labels": {"app": "sentiment", "version": version},
        "error_groups": groups,
        **arm,
    }


def main() -> None:
    """Write the three JSON files."""
    rng = np.random.default_rng(SEED)
    healthy = ArmSpec({"errors": 0.005}, {"latency": LATENCY})
    broken = ArmSpec(
        {"errors": 0.012},
        {
            "latency": LatencyShape(
                LATENCY.median, LATENCY.sigma, LATENCY.doubling_tail(0.99).tail_power
            )
        },
    )
    options = {
        "intervals": MINUTES,
        "requests": REQUESTS_PER_MINUTE,
        "latency_samples": REQUESTS_PER_MINUTE,
        "histogram": True,
    }
    baseline, good = simulated_rollout(rng, healthy, healthy, **options)
    _, bad = simulated_rollout(rng, healthy, broken, **options)
    files = {
        "baseline.json": _with_context(
            baseline, rng, "1.4.2", 0.55, {"ValidationError: empty text": 61, "TimeoutError": 38}
        ),
        "canary_good.json": _with_context(
            good, rng, "1.5.0", 0.56, {"ValidationError: empty text": 58, "TimeoutError": 41}
        ),
        "canary_bad.json": _with_context(
            bad,
            rng,
            "1.5.0-nocache",
            0.86,
            {"TimeoutError": 171, "ValidationError: empty text": 63},
        ),
    }
    for name, arm in files.items():
        (HERE / name).write_text(json.dumps(arm, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
