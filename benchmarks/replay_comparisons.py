"""Re-judge the baseline comparisons of a latency-gate run under other baseline models.

Reads the ``--records`` file of ``latency_gate.py`` and, for every run and
workload, recomputes the verdict with three ways of centring the baseline:

- ``plain``: the mean of the saved runs (the comparison before speed trends);
- ``trend``: the runs' statistic regressed on their reference speed (ridge) and
  predicted at the run's speed, always;
- ``clear trend``: the same, but only when the runs show the trend clearly
  (what :func:`pytest_prodguard.latency.compare.baseline_model` does now).

It is an approximation: the within-run interval is recovered from the recorded
interval at the deciding look, the run's speed is its whole-run median
reference round, and sampling is not replayed (a run that stopped early under
one model might have sampled longer under another). It answers "on the same
processes, which model calls what", which two benchmark runs on a machine whose
speed drifts between them cannot.

    python benchmarks/replay_comparisons.py run.json --recorded plain
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_prodguard.latency import compare  # noqa: E402
from pytest_prodguard.latency.baseline import BaselineRun  # noqa: E402
from pytest_prodguard.latency.stats import student_t_quantile  # noqa: E402

WORKLOADS = ("py50us", "np2ms", "json20ms")
MODELS = ("plain", "trend", "clear trend")


def model_for(name: str, runs: list[BaselineRun], log_reference: float) -> compare.BaselineModel:
    """The baseline model ``name`` at this run's speed."""
    if name == "plain":
        return compare.baseline_model(runs, compare.SIGMA_SAME_MACHINE, None)
    evidence = 0.0 if name == "trend" else compare.SLOPE_EVIDENCE
    return compare.baseline_model(
        runs, compare.SIGMA_SAME_MACHINE, log_reference, slope_evidence=evidence
    )


def margin(model: compare.BaselineModel, se_base: float) -> float:
    """The between-run half-width of the interval (default confidence)."""
    return student_t_quantile(1 - compare.between_alpha(0.95), model.dof) * math.sqrt(
        (model.sigma * model.scale) ** 2 + se_base**2
    )


def status(d: float, low: float, high: float, tolerance: float = 0.10) -> str:
    """The comparison's verdict rule (see compare.evaluate_comparison)."""
    limit = math.log1p(tolerance)
    if d > limit and low > 0:
        return "regressed"
    if d < -limit and high < 0:
        return "improved"
    return "inconclusive" if d > limit else "unchanged"


def replay(data: dict[str, Any], recorded: str) -> list[str]:
    """Markdown rows: per workload, condition and slowdown, the share of each verdict per model."""
    rows = []
    for name in WORKLOADS:
        saved = [BaselineRun(**run) for run in data["calibration"]["baseline_runs"][name]]
        runs = compare.leave_out_outliers(saved, compare.SIGMA_SAME_MACHINE)
        se_base = math.sqrt(sum(run.statistic_se**2 for run in runs)) / len(runs)
        for condition in ("idle", "loaded"):
            for slowdown in (1.0, 1.25):
                counts = {model: Counter[str]() for model in ("recorded", *MODELS)}
                for record in data["records"]:
                    if record["condition"] != condition or record["slowdown"] != slowdown:
                        continue
                    row = record["result"][name]
                    medians = row["reference_medians"]
                    speed = 0.5 * math.log(medians["python"] * medians["native"])
                    models = {model: model_for(model, runs, speed) for model in MODELS}
                    used = models[recorded]
                    d = math.log(row["compare_ratio"])
                    width = margin(used, se_base)
                    within_low = math.log(row["compare_low"]) + width - d
                    within_high = math.log(row["compare_high"]) - width - d
                    statistic = d + used.center
                    counts["recorded"][row["compare_status"]] += 1
                    for model in MODELS:
                        shifted = statistic - models[model].center
                        extra = margin(models[model], se_base)
                        counts[model][
                            status(
                                shifted, shifted + within_low - extra, shifted + within_high + extra
                            )
                        ] += 1
                total = sum(counts["recorded"].values())
                cells = [
                    ", ".join(
                        f"{verdict} {count / total:.0%}"
                        for verdict, count in sorted(counts[model].items())
                    )
                    for model in ("recorded", *MODELS)
                ]
                rows.append(f"| {name} | {condition} | x{slowdown:g} | {' | '.join(cells)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", help="a latency_gate.py --records file")
    parser.add_argument(
        "--recorded",
        choices=MODELS,
        required=True,
        help="the model the comparisons were recorded with",
    )
    args = parser.parse_args()
    data = json.loads(Path(args.records).read_text(encoding="utf-8"))
    print(
        "| workload | condition | slowdown | recorded | replay: plain | replay: trend "
        "| replay: clear trend |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in replay(data, args.recorded):
        print(row)


if __name__ == "__main__":
    main()
