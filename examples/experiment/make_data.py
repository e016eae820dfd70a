"""Generate ``events.csv``: one row per user of a two-week checkout experiment (seeded).

Run from anywhere (``python examples/experiment/make_data.py``); it rewrites
``events.csv`` next to this script, byte for byte the same on every run.

The story: a new checkout page ("treatment") against the current one
("control"), 50/50, on web and app, users entering over 14 days. The new page
lifts conversion by about 12% relative, more in its first days (a novelty
effect, which is what makes an early look misleading), and revenue per
converting user is unchanged.
"""

from __future__ import annotations

import csv
import pathlib

import numpy as np

SEED = 20250317
USERS = 12_000
DAYS = 14
BASELINE = {"web": 0.28, "app": 0.34}
LIFT = 0.12
NOVELTY_LIFT = 0.25
NOVELTY_DAYS = 3

OUTPUT = pathlib.Path(__file__).with_name("events.csv")


def main() -> None:
    """Write the CSV file."""
    rng = np.random.default_rng(SEED)
    variant = np.where(rng.random(USERS) < 0.5, "control", "treatment")
    platform = np.where(rng.random(USERS) < 0.55, "web", "app")
    day = np.sort(rng.integers(1, DAYS + 1, USERS))
    baseline = np.where(platform == "web", BASELINE["web"], BASELINE["app"])
    lift = np.where(day <= NOVELTY_DAYS, NOVELTY_LIFT, LIFT)
    rate = baseline * np.where(variant == "treatment", 1 + lift, 1.0)
    converted = rng.random(USERS) < rate
    revenue = np.where(converted, np.round(rng.gamma(3.0, 12.0, USERS), 2), 0.0)
    with OUTPUT.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["variant", "platform", "day", "converted", "revenue"])
        for row in zip(variant, platform, day, converted, revenue, strict=True):
            name, where, when, bought, spent = row
            writer.writerow([name, where, int(when), int(bought), f"{spent:g}"])


if __name__ == "__main__":
    main()
