"""The outcome of one profiling run and its "where the time went" text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.profiling.calls import CallChange
from pytest_prodguard.profiling.stacks import GROWTH_Z, FrameGrowth, HotFrame

SECTION_TITLE = "where the time went"
MAX_LINE = 160
MAX_TABLE_LINES = 16
MAX_NOTE = 400
PROFILER_LABELS = {
    "py-spy": "py-spy",
    "builtin": "builtin sampler",
    "torch": "torch.profiler",
    "none": "no profiler",
}


@dataclass
class ProfileResult:
    """What a profiling run produced.

    ``profiler`` is the one that ran: ``"py-spy"``, ``"torch"`` (operator table
    and Chrome trace from torch.profiler, stacks from ``stack_profiler``),
    ``"builtin"``, or ``"none"`` when nothing could be recorded. ``note`` is one
    line saying why the first choice was not used or what went wrong.
    ``samples`` counts the stack samples below the profiled callable (for the
    builtin sampler: time-weighted ticks of ``1/rate`` s). ``files`` maps
    ``"raw"`` (folded stacks), ``"svg"`` and ``"chrome_trace"`` to paths.
    """

    profiler: str
    note: str | None = None
    samples: int = 0
    hot_frames: list[HotFrame] = field(default_factory=list)
    op_table: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    stack_profiler: str | None = None
    grown_frames: list[FrameGrowth] = field(default_factory=list)
    calls: int = 0
    errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    #: CPU time of the profiled thread during the window (the rest of ``seconds`` it waited).
    cpu_seconds: float = 0.0
    #: Functions called a different number of times per measured call than in the baseline.
    call_changes: list[CallChange] = field(default_factory=list)

    def section(self) -> str:
        """The failure-message block: profiler, hottest frames, growth, op table, files, note.

        Kept short on purpose (at most ``top`` frames, 5 growth rows, a capped
        operator table, lines cut at 160 characters except file paths): it
        lands in CI logs.
        """
        lines = [f"{SECTION_TITLE} ({self._headline()}):"]
        split = self.cpu_split()
        if split:
            lines.append(split)
        lines += self._frame_lines()
        if self.grown_frames:
            lines.append(
                "grew most since the baseline profile (self share; listed only beyond "
                f"sampling noise: {GROWTH_Z:g} standard errors of the two profiles' shares):"
            )
            lines += [_growth_line(growth) for growth in self.grown_frames]
        if self.call_changes:
            lines.append("calls per measured call, baseline -> now (counted exactly by cProfile):")
            lines += [
                f"  {change.function}  {change.before:.3g} -> {change.after:.3g}"
                for change in self.call_changes
            ]
        if self.op_table:
            lines.append("torch operators:")
            table_lines = self.op_table.splitlines()
            lines += ["  " + line.rstrip() for line in table_lines[:MAX_TABLE_LINES]]
        lines = [_cap(line) for line in lines]
        if self.files:  # paths are never shortened: users copy them
            lines.append("files:")
            lines += [f"  {key}: {path}" for key, path in self.files.items()]
        if self.note:
            lines.append(_cap(f"note: {self.note}", limit=MAX_NOTE))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (built-in types only, so it crosses pytest-xdist)."""
        return {
            "profiler": self.profiler,
            "stack_profiler": self.stack_profiler,
            "note": self.note,
            "samples": self.samples,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "calls": self.calls,
            "errors": self.errors,
            "first_error": self.first_error,
            "hot_frames": [frame.to_dict() for frame in self.hot_frames],
            "grown_frames": [growth.to_dict() for growth in self.grown_frames],
            "call_changes": [change.to_dict() for change in self.call_changes],
            "op_table": self.op_table,
            "files": dict(self.files),
        }

    def cpu_split(self) -> str:
        """How the window split between running on a CPU and waiting; empty when unknown."""
        if self.seconds <= 0 or self.calls == 0 or self.cpu_seconds <= 0:
            return ""  # not measured (a result built by hand, or nothing ran)
        on_cpu = min(1.0, max(0.0, self.cpu_seconds / self.seconds))
        return (
            f"time: {100 * on_cpu:.0f}% running on a CPU, {100 * (1 - on_cpu):.0f}% waiting "
            "(sleep, I/O, locks, a CPU held by other processes)"
        )

    def _headline(self) -> str:
        name = PROFILER_LABELS.get(self.profiler, self.profiler)
        if self.profiler == "torch" and self.stack_profiler:
            name += f" + {PROFILER_LABELS.get(self.stack_profiler, self.stack_profiler)} stacks"
        parts = [name, f"{self.samples} samples"]
        if self.calls:
            calls = f"{self.calls} call{'s' if self.calls != 1 else ''} in {self.seconds:.2f} s"
            if self.errors:
                calls += f", {self.errors} raised"
                if self.first_error:
                    calls += f" ({self.first_error})"
            parts.append(calls)
        return ", ".join(parts)

    def _frame_lines(self) -> list[str]:
        if not self.hot_frames:
            return ["  (no samples inside the profiled code)"]
        name_width = max(len(frame.function) for frame in self.hot_frames)
        where_width = max(len(frame.location) for frame in self.hot_frames)
        header = "    self   total  " + "function".ljust(name_width) + "  location"
        lines = [header.rstrip()]
        for frame in self.hot_frames:
            line = (
                f"  {100 * frame.self_share:5.1f}%  {100 * frame.total_share:5.1f}%  "
                f"{frame.function.ljust(name_width)}  {frame.location.ljust(where_width)}"
            )
            if frame.code:
                line += f"  | {frame.code}"
            lines.append(line.rstrip())
        return lines


def _growth_line(growth: FrameGrowth) -> str:
    return (
        f"  {100 * growth.growth:+5.1f} pp  {growth.function}  {growth.file}"
        f"  ({100 * growth.before:.1f}% -> {100 * growth.after:.1f}%, "
        f"noise {100 * growth.noise:.1f} pp)"
    )


def _cap(line: str, *, limit: int = MAX_LINE) -> str:
    return line if len(line) <= limit else line[: limit - 3] + "..."
