"""Benchmark: ``prodguard triage`` throughput and peak memory on a generated large log.

Generates (seeded) a log of the given size in a temporary directory: text records
with ``key=value`` context, one record in 50 an error with a whole Python traceback
(8 error kinds, ids and numbers varying), and a tenth of the lines as JSON records.
Then runs ``prodguard triage --json`` on it in a fresh process pinned to one core and
reports wall time, records per second, MB per second and the child's peak RSS.

Run::

    python benchmarks/triage_throughput.py --size-mb 1024

Prints a markdown table; the log is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = [
    ("ZeroDivisionError", "float division by zero", "pricing.py", "discount"),
    ("KeyError", "'coupon'", "promo.py", "apply"),
    ("ValueError", "invalid literal for int() with base 10: 'x{n}'", "quote.py", "parse"),
    ("TimeoutError", "upstream pay-{n} did not answer in {n} ms", "pay.py", "charge"),
    ("IndexError", "list index out of range", "cart.py", "first_item"),
    (
        "UnicodeEncodeError",
        "'ascii' codec can't encode character in position {n}",
        "rcpt.py",
        "render",
    ),
    ("PermissionError", "user u-{n} may not read order {n}", "auth.py", "check"),
    ("RuntimeError", "pool exhausted after {n} retries", "db.py", "connect"),
]


def write_log(path: Path, size_bytes: int, seed: int = 19) -> int:
    """Write about ``size_bytes`` of log; returns the number of records written."""
    rng = random.Random(seed)
    records = 0
    second = 1_773_478_800
    with path.open("w", encoding="utf-8") as handle:
        written = 0
        while written < size_bytes:
            chunk = []
            for _ in range(1000):
                records += 1
                second += rng.random() * 0.05
                chunk.append(_record(rng, records, second))
            text = "".join(chunk)
            handle.write(text)
            written += len(text)
    return records


def _record(rng: random.Random, number: int, second: float) -> str:
    stamp = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{int(second % 1 * 1000):03d}Z"
    )
    context = (
        f"request_id=req-{number} route=/api/v{rng.randint(1, 3)}/orders "
        f"user=u-{rng.randint(1, 5000)} host=web-{rng.randint(1, 8)} "
        f"version=1.{rng.randint(4, 5)}.0"
    )
    if number % 10 == 0:
        return (
            json.dumps(
                {
                    "timestamp": stamp,
                    "level": "INFO",
                    "logger": "api",
                    "message": "served",
                    "request_id": f"req-{number}",
                    "status": 200,
                }
            )
            + "\n"
        )
    if number % 50 != 7:
        return f"{stamp} INFO api: request served in {rng.randint(1, 400)} ms {context}\n"
    kind, message, file, function = rng.choice(KINDS)
    message = message.replace("{n}", str(rng.randint(1, 99999)))
    return (
        f"{stamp} ERROR api: unhandled error {context}\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app/api.py", line 41, in handle\n'
        "    body = route(path, request)\n"
        '  File "/srv/app/router.py", line 12, in route\n'
        "    return handlers[path](request)\n"
        f'  File "/srv/app/{file}", line 88, in {function}\n'
        "    raise\n"
        f"{kind}: {message}\n"
    )


def run_triage(path: Path) -> tuple[float, float, int, dict]:
    """Wall seconds, CPU seconds, peak RSS (bytes) and the JSON result of one triage process.

    CPU time is the figure to compare on a shared machine: wall time there includes
    the time other work held the core.
    """
    command = [
        sys.executable,
        "-c",
        "from pytest_prodguard.cli import main; raise SystemExit(main())",
    ]
    pin = ["taskset", "-c", "0"] if _has_taskset() else []
    start = time.perf_counter()
    done = subprocess.run(
        [*pin, *command, "triage", str(path), "--json"], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, json.loads(done.stdout)


def _has_taskset() -> bool:
    return any(Path(d, "taskset").exists() for d in os.environ.get("PATH", "").split(os.pathsep))


def main() -> None:
    """Generate, triage, print the table, delete the log."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        path = Path(folder) / "big.log"
        started = time.perf_counter()
        records = write_log(path, int(args.size_mb * 1024 * 1024))
        generated = time.perf_counter() - started
        size = path.stat().st_size
        wall, cpu, peak, result = run_triage(path)
    print(f"| measure (generated log, {size / 2**20:.0f} MiB, {records:,} records) | value |")
    print("| --- | --- |")
    print(f"| generation time | {generated:.1f} s |")
    print(f"| triage wall time (pinned to one core) | {wall:.1f} s |")
    print(f"| triage CPU time (user + system) | {cpu:.1f} s |")
    print(f"| records read by triage | {result['records']:,} |")
    for label, seconds in (("wall", wall), ("CPU", cpu)):
        speed = f"{result['records'] / seconds:,.0f} records/s, {size / 2**20 / seconds:.1f} MiB/s"
        print(f"| throughput per {label} second | {speed} |")
    print(f"| peak RSS of the triage process | {peak / 2**20:.0f} MiB |")
    print(f"| error groups found | {len(result['groups'])} (8 kinds seeded) |")
    print(f"| malformed lines | {sum(result['malformed'].values())} |")


if __name__ == "__main__":
    main()
