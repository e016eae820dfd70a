"""Folded ("collapsed") stacks: parse, trim, write, and summarise into hot frames.

Every profiler in this package ends up here: py-spy's ``raw`` output, the
builtin sampler and ``prodguard profile`` all produce folded stacks, one line
per distinct stack, ``root;caller;leaf COUNT``, where a frame reads
``function (file:line)``. Summaries, the flamegraph and the baseline
comparison are computed from that one representation.
"""

from __future__ import annotations

import linecache
import math
import os
import re
import sys
import sysconfig
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Stack = tuple[str, ...]
Stacks = Counter[Stack]

#: Name of the function that calls the profiled callable; stacks are cut just below it.
LOOP_FUNCTION = "_prodguard_profile_loop"

# qualified names hold no " (", file paths may: split at the first one
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*):(?P<line>\d+)\)$")
# ";" separates frames and every str.splitlines() boundary separates stacks
_FRAME_LINE_SEPARATORS = str.maketrans(
    {";": ":", **dict.fromkeys("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", " ")}
)


@dataclass(frozen=True)
class FrameRef:
    """One frame of a folded stack, split into its parts (``line`` is 0 when unknown)."""

    function: str
    file: str
    line: int

    @property
    def short_file(self) -> str:
        """The file relative to the longest matching ``sys.path`` entry or the working directory."""
        return short_path(self.file)


@dataclass(frozen=True)
class HotFrame:
    """A function ranked by its share of samples.

    ``self_share`` counts samples where the function is the innermost frame,
    ``total_share`` samples where it is anywhere on the stack (once per stack,
    so recursion is not double counted); both are fractions in [0, 1].
    ``line`` is the line of the function seen in most samples and ``code`` its
    source text (empty when the file cannot be read).
    """

    function: str
    file: str
    line: int
    self_share: float
    total_share: float
    code: str = ""

    @property
    def location(self) -> str:
        """``file:line`` as shown in failure messages."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "self_share": self.self_share,
            "total_share": self.total_share,
            "code": self.code,
        }


@dataclass(frozen=True)
class FrameGrowth:
    """A function whose self share grew against a baseline profile (shares in [0, 1])."""

    function: str
    file: str
    before: float
    after: float
    #: The growth sampling alone could produce (``z`` standard errors, see grown_frames).
    noise: float = 0.0

    @property
    def growth(self) -> float:
        """``after - before``, in share units (0.1 = 10 percentage points)."""
        return self.after - self.before

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "function": self.function,
            "file": self.file,
            "before": self.before,
            "after": self.after,
            "noise": self.noise,
        }


def frame_label(function: str, file: str, line: int) -> str:
    """Format one frame the way py-spy does: ``function (file:line)``."""
    clean = function.translate(_FRAME_LINE_SEPARATORS)
    return f"{clean} ({file.translate(_FRAME_LINE_SEPARATORS)}:{line})"


def parse_frame(label: str) -> FrameRef:
    """Split ``function (file:line)``; a label without a location is all function."""
    match = _FRAME.match(label)
    if match is None:
        return FrameRef(label, "", 0)
    return FrameRef(match["function"], match["file"], int(match["line"]))


def parse_folded(text: str) -> Stacks:
    """Parse folded stacks, summing duplicate stacks.

    Lines whose last token is not a non-negative integer are skipped: py-spy
    splits a stack line when a process command line contains a newline.
    """
    stacks: Stacks = Counter()
    for raw_line in text.splitlines():
        line = raw_line.rstrip()
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        if count == 0:
            continue
        stack = tuple(frame for frame in stack_text.split(";") if frame)
        stacks[stack] += count
    return stacks


def format_folded(stacks: Mapping[Stack, int]) -> str:
    """Write stacks as folded text, sorted so the same profile gives the same file."""
    lines = [f"{';'.join(stack)} {count}" for stack, count in sorted(stacks.items()) if count > 0]
    return "\n".join(lines) + ("\n" if lines else "")


def cut_below_loop(stacks: Mapping[Stack, int], loop_function: str = LOOP_FUNCTION) -> Stacks:
    """Keep only the frames below the profiling loop's frame.

    Stacks without the loop frame (other threads, the profiler starting up) are
    dropped, and so are stacks that end in the loop itself (time between two
    calls). What remains starts at the profiled callable, so pytest's and
    pluggy's frames above it never appear.
    """
    cut: Stacks = Counter()
    for stack, count in stacks.items():
        positions = [
            i for i, frame in enumerate(stack) if parse_frame(frame).function == loop_function
        ]
        if not positions:
            continue
        below = stack[positions[-1] + 1 :]
        if below:
            cut[below] += count
    return cut


def strip_process_frames(stacks: Mapping[Stack, int], *, drop_root_only: bool) -> Stacks:
    """Remove py-spy's ``process PID:"cmdline"`` frames (``--subprocesses`` mode).

    With ``drop_root_only`` the stacks that belong to the outermost process
    alone (a wrapper that merely waits for its child) are dropped entirely.
    """
    stripped: Stacks = Counter()
    for stack, count in stacks.items():
        processes = sum(1 for frame in stack if frame.startswith("process "))
        if drop_root_only and processes == 1 and stack[0].startswith("process "):
            continue
        rest = tuple(frame for frame in stack if not frame.startswith("process "))
        if rest:
            stripped[rest] += count
    return stripped


def total_samples(stacks: Mapping[Stack, int]) -> int:
    """Sum of all stack counts."""
    return sum(stacks.values())


def hot_frames(stacks: Mapping[Stack, int], *, top: int) -> list[HotFrame]:
    """The ``top`` functions by self share, then total share, then name.

    Functions are keyed by name and (shortened) file, so line numbers do not
    split one function into several rows; each row shows its most sampled line.
    """
    total = total_samples(stacks)
    if total == 0:
        return []
    self_counts, total_counts, line_counts = _tally_functions(stacks)
    ranked = sorted(total_counts, key=lambda key: (-self_counts[key], -total_counts[key], key))
    frames = []
    for function, file in ranked[:top]:
        line, path = line_counts[(function, file)].most_common(1)[0][0]
        frames.append(
            HotFrame(
                function=function,
                file=file,
                line=line,
                self_share=self_counts[(function, file)] / total,
                total_share=total_counts[(function, file)] / total,
                code=source_line(path, line),
            )
        )
    return frames


def self_shares(stacks: Mapping[Stack, int]) -> dict[tuple[str, str], float]:
    """Self share per (function, shortened file)."""
    total = total_samples(stacks)
    if total == 0:
        return {}
    self_counts, _, _ = _tally_functions(stacks)
    return {key: count / total for key, count in self_counts.items() if count}


#: A frame's growth must exceed this many standard errors of the difference of two
#: sample proportions (its self share now and in the baseline) to be listed.
GROWTH_Z = 3.0


def grown_frames(
    current: Mapping[Stack, int],
    baseline: Mapping[Stack, int],
    *,
    top: int,
    min_growth: float = 0.01,
    z: float = GROWTH_Z,
) -> list[FrameGrowth]:
    """Functions whose self share grew beyond sampling noise since ``baseline``, largest first.

    A function is listed when its growth is at least ``min_growth`` (one
    percentage point) *and* more than ``z`` standard errors of the difference
    of two binomial proportions, ``sqrt(p0 (1 - p0) / n0 + p1 (1 - p1) / n1)``
    with ``n`` the samples of each profile: with a few hundred samples a frame
    moves by several points from sampling alone (a +8.5 pp "growth" after a
    uniform slowdown was noise). Frames are matched by function name and
    shortened file, so a baseline recorded in another checkout still lines up.
    """
    now, before = self_shares(current), self_shares(baseline)
    n1, n0 = total_samples(current), total_samples(baseline)
    growing = []
    for (function, file), share in now.items():
        old = before.get((function, file), 0.0)
        noise = z * math.sqrt(old * (1 - old) / max(n0, 1) + share * (1 - share) / max(n1, 1))
        growth = FrameGrowth(function, file, old, share, noise)
        if growth.growth >= min_growth and growth.growth > noise:
            growing.append(growth)
    growing.sort(key=lambda g: (-g.growth, g.function, g.file))
    return growing[:top]


def by_function(stacks: Mapping[Stack, int]) -> Stacks:
    """The stacks with line numbers dropped, so one function is one box per stack position."""
    merged: Stacks = Counter()
    for stack, count in stacks.items():
        frames = (parse_frame(label) for label in stack)
        merged[tuple(frame_label(f.function, f.file, 0) for f in frames)] += count
    return merged


def source_line(path: str, line: int, *, width: int = 60) -> str:
    """The stripped source text of ``path:line``, shortened to ``width``; '' if unknown."""
    if not path or line <= 0 or path.startswith("<"):
        return ""
    text = linecache.getline(path, line).strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def short_path(path: str) -> str:
    """Shorten an absolute path for display: relative to the longest known prefix.

    Prefixes are the working directory, ``sys.path`` entries and the stdlib and
    site-packages directories, so ``/usr/lib/python3.11/json/encoder.py``
    becomes ``json/encoder.py`` and a project file becomes ``tests/test_x.py``.
    """
    if not path or path.startswith("<"):
        return path
    for prefix in _path_prefixes(os.getcwd(), tuple(sys.path)):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


@lru_cache(maxsize=8)
def _path_prefixes(cwd: str, path_entries: tuple[str, ...]) -> tuple[str, ...]:
    candidates = {cwd, *path_entries}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        candidates.add(sysconfig.get_path(key))
    prefixes = {
        os.path.join(os.path.abspath(entry or cwd), "") for entry in candidates if entry is not None
    }
    prefixes.discard(os.sep)
    return tuple(sorted(prefixes, key=len, reverse=True))


def _tally_functions(
    stacks: Mapping[Stack, int],
) -> tuple[
    Counter[tuple[str, str]],
    Counter[tuple[str, str]],
    dict[tuple[str, str], Counter[tuple[int, str]]],
]:
    self_counts: Counter[tuple[str, str]] = Counter()
    total_counts: Counter[tuple[str, str]] = Counter()
    line_counts: dict[tuple[str, str], Counter[tuple[int, str]]] = {}
    for stack, count in stacks.items():
        frames = [parse_frame(label) for label in stack]
        seen: set[tuple[str, str]] = set()
        for frame in frames:
            key = (frame.function, frame.short_file)
            line_counts.setdefault(key, Counter())[(frame.line, frame.file)] += count
            if key not in seen:
                seen.add(key)
                total_counts[key] += count
        if frames:
            leaf = frames[-1]
            self_counts[(leaf.function, leaf.short_file)] += count
    return self_counts, total_counts, line_counts
