"""The calibration workload measured interleaved with the code under test.

Whole processes drift into faster or slower modes (CPU frequency, a busy
neighbour, code layout), and that drift moves every statistic of the target's
own timings. The same drift moves a fixed reference workload measured in the
same process at the same moments, so the ratio target/reference is far more
stable between processes than the target's time alone; baseline comparisons use
that ratio.

The reference mixes two kinds of work, timed separately and combined with a
geometric mean: an interpreter-bound Python loop (dict and integer work) and
C-level work (sorting floats and SHA-256 hashing). A memory-streaming component
was tried and left out: on the shared 2-vCPU machines it varied by 20-30%
between processes on its own and made the ratio noisier for every workload
(see ``docs/latency.md``).

Each component is timed on its second run, after an untimed first one
(:meth:`.timing.CallableSource.reference`), so the reference is measured with
warm caches whatever the target left behind (version 2; version 1 timed a
cold first run).

The sizes are part of the baseline format: changing them changes every ratio,
so :data:`REFERENCE_VERSION` must be bumped with them.
"""

from __future__ import annotations

import hashlib
import random

#: Bumped whenever the reference work changes; baselines record it.
REFERENCE_VERSION = 2

_PYTHON_LOOP_LENGTH = 400
_rng = random.Random(20250101)
_FLOATS = [_rng.random() for _ in range(400)]
_BLOB = bytes(_rng.getrandbits(8) for _ in range(8192))


def python_work() -> int:
    """Interpreter-bound reference work (about 30 us on a 2020s x86 core)."""
    total = 0
    table = {}
    for i in range(_PYTHON_LOOP_LENGTH):
        total += i * i
        if i & 7 == 0:
            table[i] = total
    return total + len(table)


def native_work() -> int:
    """C-level reference work: a sort and a hash (about 20 us on a 2020s x86 core)."""
    ordered = sorted(_FLOATS)
    digest = hashlib.sha256(_BLOB).digest()
    return len(ordered) + digest[0]
