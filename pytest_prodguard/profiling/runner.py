"""Profile a callable for a bounded window and turn the samples into a result.

:func:`profile_callable` is what the plugin calls when a latency budget (or a
``profile_on_failure`` test) fails: it re-runs the measured callable for about
``seconds`` under a stack sampler (py-spy attached to this process, or the
builtin sampler when py-spy cannot attach), optionally records torch operators
for the first few calls, and writes the folded stacks, a flamegraph and, for
torch, a Chrome trace. Profiling problems never raise: they become the
result's one-line ``note``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Protocol

from pytest_prodguard.errors import ProdguardUsageError, describe_exception
from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.limits import PROFILE_SECONDS, PROFILE_TOP
from pytest_prodguard.profiling import pyspy
from pytest_prodguard.profiling.calls import (
    CallChange,
    calls_path,
    changed_calls,
    count_calls,
    load_counts,
    save_counts,
)
from pytest_prodguard.profiling.files import (
    CHROME_TRACE_FILE,
    STACKS_FILE,
    SVG_FILE,
    check_name,
    prepare_folder,
    temporary_path,
)
from pytest_prodguard.profiling.result import PROFILER_LABELS, ProfileResult
from pytest_prodguard.profiling.sampler import ThreadSampler
from pytest_prodguard.profiling.stacks import (
    FrameGrowth,
    Stacks,
    by_function,
    cut_below_loop,
    format_folded,
    grown_frames,
    hot_frames,
    parse_folded,
    total_samples,
)
from pytest_prodguard.profiling.svg import render_flamegraph
from pytest_prodguard.profiling.torchprof import TorchOpProfiler, torch_importable
from pytest_prodguard.units import parse_duration

PROFILERS = ("auto", "py-spy", "torch", "builtin")
#: Flamegraph boxes: one per function in each stack, or one per source line.
FRAME_MODES = ("function", "line")
DEFAULT_SECONDS = 2.0
DEFAULT_TOP = 8
DEFAULT_RATE = 100
#: torch operators are recorded for at most this many calls, and no call starts after
#: this many seconds (nor after half the window): post-processing costs ~70 us per
#: recorded operator, and a model of tiny operators recorded ~2 * 10^5 of them per second.
TORCH_MAX_CALLS = 5
TORCH_PHASE_SECONDS = 0.1
TORCH_WINDOW_SHARE = 0.5
GROWTH_ROWS = 5
MAX_RATE = 1000
PROFILER_ACCEPTED = "one of " + ", ".join(repr(name) for name in PROFILERS)
TOP_ACCEPTED = PROFILE_TOP.accepted
RATE_ACCEPTED = f"a whole number of samples per second between 1 and {MAX_RATE}"


@dataclass(frozen=True)
class ProfileOptions:
    """Validated profiling options."""

    profiler: str = "auto"
    seconds: float = DEFAULT_SECONDS
    top: int = DEFAULT_TOP
    rate: int = DEFAULT_RATE


def check_profile_options(
    *,
    profiler: object = "auto",
    seconds: object = DEFAULT_SECONDS,
    top: object = DEFAULT_TOP,
    rate: object = DEFAULT_RATE,
    source: str = "",
) -> ProfileOptions:
    """Validate user-supplied options; raise :class:`ProdguardUsageError` naming the bad one.

    ``seconds`` accepts a number of seconds or a duration string (``"500ms"``).
    The plugin calls this where the marker or option is read, so that a typo
    is a usage error at collection rather than a surprise when a test fails.
    """
    if profiler not in PROFILERS:
        raise ProdguardUsageError("profiler", profiler, PROFILER_ACCEPTED, source=source)
    window = parse_duration(seconds, field="seconds", limit=PROFILE_SECONDS)
    PROFILE_TOP.check("top", top, source=source)
    assert isinstance(top, int)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= MAX_RATE:
        raise ProdguardUsageError("rate", rate, RATE_ACCEPTED, source=source)
    return ProfileOptions(str(profiler), window, top, rate)


@dataclass
class _Tally:
    calls: int = 0
    errors: int = 0
    first_error: str | None = None


def _prodguard_profile_loop(
    fn: Callable[[], object],
    tally: _Tally,
    deadline: float,
    *,
    min_calls: int,
    max_calls: int | None = None,
) -> None:
    """Call ``fn`` until ``deadline`` (at least ``min_calls`` times, at most ``max_calls``).

    Its frame marks where recorded stacks are cut: everything above it is the
    test runner, everything below it is the profiled code, so it calls nothing
    in Python itself. A call is not started when less than half an average call
    remains: a slow callable overruns the window by about half a call at most.
    Exceptions from ``fn`` (failed assertions, ``pytest.fail``'s BaseException)
    are counted, never raised; KeyboardInterrupt and whatever a Python signal
    handler raised (pytest-timeout's SIGALRM "Timeout") stop the loop at once and
    propagate: they stop the run, not the profiled code.
    """
    stop_codes = signal_handler_codes()
    done = 0
    started = time.perf_counter()
    while True:
        now = time.perf_counter()
        if done >= min_calls and (
            (max_calls is not None and done >= max_calls)
            or now >= deadline
            or (done and deadline - now < 0.5 * (now - started) / done)
        ):
            return
        try:
            fn()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            trace = exc.__traceback__  # inline: a helper's frame would show up in the stacks
            while trace is not None and trace.tb_frame.f_code not in stop_codes:
                trace = trace.tb_next
            if trace is not None:
                raise
            tally.errors += 1
            if tally.first_error is None:
                tally.first_error = describe_exception(exc)
        done += 1
        tally.calls += 1


def signal_handler_codes() -> frozenset[CodeType]:
    """Code objects of the Python signal handlers installed now (pytest-timeout's, say).

    An exception whose traceback passes through one of them was raised by the
    handler, that is by the run being stopped, not by the code being profiled.
    """
    codes = set()
    for number in signal.valid_signals():
        try:
            handler = signal.getsignal(number)
        except (OSError, ValueError):  # signals Python cannot look up on this platform
            continue
        code = getattr(handler, "__code__", None)
        if isinstance(code, CodeType):
            codes.add(code)
    return frozenset(codes)


def stops_the_run(exc: BaseException, codes: frozenset[CodeType] | None = None) -> bool:
    """True for Ctrl-C and for an exception a Python signal handler raised (a timeout)."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    handlers = signal_handler_codes() if codes is None else codes
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code in handlers:
            return True
        trace = trace.tb_next
    return False


def _call_changes(
    fn: Callable[[], object], baseline: Path | None, notes: list[str]
) -> list[CallChange]:
    """Calls per measured call that changed since the baseline's counts (none without them)."""
    before = load_counts(calls_path(baseline)) if baseline is not None else None
    if before is None:
        return []
    codes = signal_handler_codes()
    now = count_calls(fn, stops=lambda exc: stops_the_run(exc, codes))
    if not now:
        notes.append("calls were not counted: another profiler holds the profiling hook")
    return changed_calls(now, before) if now else []


class _StackCapture(Protocol):
    name: str

    def start(self) -> str | None: ...

    def stop(self) -> tuple[Stacks, str | None]: ...


class _PySpyCapture:
    name = "py-spy"

    def __init__(self, binary: str, scratch: Path, rate: int) -> None:
        self.output = scratch
        self.recorder = pyspy.PySpyRecorder(binary=binary, output=scratch, rate=rate)

    def start(self) -> str | None:
        return self.recorder.start()

    def stop(self) -> tuple[Stacks, str | None]:
        error = self.recorder.stop()
        try:
            text = self.output.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return Stacks(), error or "py-spy wrote no output file"
        finally:
            with contextlib.suppress(OSError):
                self.output.unlink()
        return cut_below_loop(parse_folded(text)), error


class _BuiltinCapture:
    name = "builtin"

    def __init__(self, rate: int) -> None:
        self.sampler = ThreadSampler(loop_code=_prodguard_profile_loop.__code__, rate=rate)

    def start(self) -> str | None:
        self.sampler.start()
        return None

    def stop(self) -> tuple[Stacks, str | None]:
        self.sampler.stop()
        return self.sampler.stacks, None


@dataclass
class _Window:
    stacks: Stacks
    backend: str
    tally: _Tally
    seconds: float
    torch: TorchOpProfiler | None
    cpu_seconds: float = 0.0


def _start_capture(profiler: str, scratch: Path, rate: int, notes: list[str]) -> _StackCapture:
    """Start py-spy when wanted and possible, else the builtin sampler (with a note why)."""
    if profiler != "builtin":
        usable, reason = pyspy.pyspy_status()
        binary = pyspy.find_pyspy()
        if usable and binary is not None:
            capture = _PySpyCapture(binary, scratch, rate)
            error = capture.start()
            if error is None:
                return capture
            reason = f"py-spy record failed: {error}"
        notes.append(f"used the builtin sampler because {reason}")
    builtin = _BuiltinCapture(rate)
    builtin.start()
    return builtin


def _wants_torch(profiler: str, notes: list[str]) -> bool:
    if profiler == "torch":
        importable, reason = torch_importable()
        if not importable:
            notes.append(f"{reason}; profiled stacks only")
        return importable
    return profiler == "auto" and "torch" in sys.modules


def _torch_phase(
    fn: Callable[[], object], tally: _Tally, deadline: float, notes: list[str]
) -> TorchOpProfiler | None:
    """Record torch operators for the first calls of the window; None if that fails."""
    try:
        torch_profiler = TorchOpProfiler()
        torch_profiler.start()
    except Exception as exc:
        notes.append(f"torch.profiler did not start ({type(exc).__name__}: {exc})")
        return None
    try:
        _prodguard_profile_loop(fn, tally, deadline, min_calls=1, max_calls=TORCH_MAX_CALLS)
    finally:
        stopped = _stop_torch(torch_profiler, notes)
    return torch_profiler if stopped else None


def _stop_torch(torch_profiler: TorchOpProfiler, notes: list[str]) -> bool:
    try:
        torch_profiler.stop()
    except Exception as exc:
        notes.append(f"torch.profiler did not stop cleanly ({type(exc).__name__}: {exc})")
        return False
    return True


def _run_window(
    fn: Callable[[], object],
    *,
    profiler: str,
    seconds: float,
    rate: int,
    scratch: Path,
    notes: list[str],
    allow_torch: bool,
    max_calls: int | None = None,
) -> _Window:
    # decided (and torch imported, when forced) before the window and the sampler start
    want_torch = allow_torch and _wants_torch(profiler, notes)
    capture = _start_capture(profiler, scratch, rate, notes)
    tally = _Tally()
    torch_profiler = None
    started = time.perf_counter()
    cpu_started = time.thread_time()
    try:
        if want_torch:
            torch_deadline = started + min(TORCH_PHASE_SECONDS, TORCH_WINDOW_SHARE * seconds)
            torch_profiler = _torch_phase(fn, tally, torch_deadline, notes)
        _prodguard_profile_loop(
            fn,
            tally,
            started + seconds,
            min_calls=0 if tally.calls else 1,
            max_calls=None if max_calls is None else max(0, max_calls - tally.calls),
        )
    finally:
        elapsed = time.perf_counter() - started
        cpu = time.thread_time() - cpu_started
        stacks, error = capture.stop()
    if error:
        notes.append(f"{capture.name}: {error}")
    return _Window(stacks, capture.name, tally, elapsed, torch_profiler, cpu)


def profile_callable(
    fn: Callable[[], object],
    *,
    profiler: str = "auto",
    seconds: float = DEFAULT_SECONDS,
    out_dir: Path,
    name: str,
    top: int = DEFAULT_TOP,
    baseline: Path | None = None,
    rate: int = DEFAULT_RATE,
    frames: str = "function",
    max_calls: int | None = None,
) -> ProfileResult:
    """Run ``fn`` repeatedly for about ``seconds`` under a profiler and summarise where time went.

    The flamegraph has one box per function in each stack (``frames="function"``)
    or one per source line (``"line"``); ``stacks.txt`` always keeps the lines.

    ``fn`` runs at least once and at most ``max_calls`` times (None: as often as
    the window allows; a note says when the cap stopped it); its exceptions are
    swallowed and counted. The
    files land in ``out_dir / name`` (``name``: a sanitised node id, see
    :func:`sanitize_nodeid`), replacing an earlier profile of the same test.
    ``baseline``: a folded-stacks file from :func:`save_profile_baseline`; when
    it exists, the result lists the frames whose share grew the most.

    Raises :class:`ProdguardUsageError` for invalid arguments only; any
    profiling problem (py-spy missing or denied, a crash, a timeout, torch
    failing) becomes ``ProfileResult.note`` and, where possible, a fallback.
    """
    options = check_profile_options(profiler=profiler, seconds=seconds, top=top, rate=rate)
    check_name(name)
    if frames not in FRAME_MODES:
        raise ProdguardUsageError("frames", frames, f"one of {', '.join(FRAME_MODES)}")
    notes: list[str] = []
    try:
        folder = prepare_folder(out_dir, name)
        window = _run_window(
            fn,
            profiler=options.profiler,
            seconds=options.seconds,
            rate=options.rate,
            scratch=temporary_path(folder, "py-spy-raw"),
            notes=notes,
            allow_torch=True,
            max_calls=max_calls,
        )
        if max_calls is not None and window.tally.calls >= max_calls:
            notes.append(f"stopped at the cap of {max_calls} runs")
        result = _summarise(window, folder, name, options, baseline, notes, frames)
        result.call_changes = _call_changes(fn, baseline, notes)
        result.note = "; ".join(notes) or None
        return result
    except Exception as exc:
        notes.append(f"profiling failed ({type(exc).__name__}: {exc})")
        return ProfileResult(profiler="none", note="; ".join(notes))


def _summarise(
    window: _Window,
    folder: Path,
    name: str,
    options: ProfileOptions,
    baseline: Path | None,
    notes: list[str],
    frames: str = "function",
) -> ProfileResult:
    samples = total_samples(window.stacks)
    files: dict[str, str] = {}
    op_table = _torch_outputs(window.torch, folder, options, files, notes)
    if samples:
        label = PROFILER_LABELS[window.backend]
        stacks_path, svg_path = folder / STACKS_FILE, folder / SVG_FILE
        atomic_write_text(stacks_path, format_folded(window.stacks))
        drawn = by_function(window.stacks) if frames == "function" else window.stacks
        title = f"{name} ({label}, {samples} samples, per {frames})"
        atomic_write_text(svg_path, render_flamegraph(drawn, title=title))
        files = {"raw": str(stacks_path), "svg": str(svg_path), **files}
    else:
        notes.append("no stack samples were taken inside the profiled code")
    growth = _growth(window.stacks, baseline, notes)
    if op_table is not None:
        profiler = "torch"
    elif samples:
        profiler = window.backend
    else:
        profiler = "none"
    return ProfileResult(
        profiler=profiler,
        note="; ".join(notes) or None,
        samples=samples,
        hot_frames=hot_frames(window.stacks, top=options.top),
        op_table=op_table,
        files=files,
        stack_profiler=window.backend if samples else None,
        grown_frames=growth,
        calls=window.tally.calls,
        errors=window.tally.errors,
        first_error=window.tally.first_error,
        seconds=window.seconds,
        cpu_seconds=window.cpu_seconds,
    )


def _torch_outputs(
    torch_profiler: TorchOpProfiler | None,
    folder: Path,
    options: ProfileOptions,
    files: dict[str, str],
    notes: list[str],
) -> str | None:
    """Operator table text and Chrome trace file, when torch operators were recorded."""
    if torch_profiler is None:
        return None
    try:
        if torch_profiler.aten_op_count() == 0:
            if options.profiler == "torch":
                notes.append("torch.profiler recorded no aten:: operators")
            return None
        table = torch_profiler.table(rows=options.top)
        trace_path = folder / CHROME_TRACE_FILE
        scratch = temporary_path(folder, "torch-trace")
        torch_profiler.export_chrome_trace(scratch)
        scratch.replace(trace_path)
        files["chrome_trace"] = str(trace_path)
        return table
    except Exception as exc:
        notes.append(f"torch.profiler output failed ({type(exc).__name__}: {exc})")
        return None


def _growth(stacks: Stacks, baseline: Path | None, notes: list[str]) -> list[FrameGrowth]:
    if baseline is None or not total_samples(stacks):
        return []
    try:
        text = Path(baseline).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        notes.append(f"baseline profile unreadable ({exc})")
        return []
    base = parse_folded(text)
    if not total_samples(base):
        notes.append(f"baseline profile {baseline} holds no stacks")
        return []
    return grown_frames(stacks, base, top=GROWTH_ROWS)


def save_profile_baseline(
    fn: Callable[[], object],
    *,
    path: Path,
    seconds: float = DEFAULT_SECONDS,
    profiler: str = "auto",
    rate: int = DEFAULT_RATE,
) -> ProfileResult:
    """Profile ``fn`` for about ``seconds`` and save its folded stacks at ``path``.

    The file is what :func:`profile_callable` takes as ``baseline`` for its
    "grew most" view. Only stacks are recorded (``"torch"`` records stacks
    too). Returns a result whose ``files["raw"]`` is ``path``, or whose
    ``note`` says why nothing was saved; never raises for profiling problems.
    """
    options = check_profile_options(profiler=profiler, seconds=seconds, rate=rate)
    notes: list[str] = []
    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        window = _run_window(
            fn,
            profiler=options.profiler,
            seconds=options.seconds,
            rate=options.rate,
            scratch=temporary_path(target.parent, "py-spy-baseline"),
            notes=notes,
            allow_torch=False,
        )
        samples = total_samples(window.stacks)
        if samples:
            atomic_write_text(target, format_folded(window.stacks))
        else:
            notes.append("no stack samples were taken inside the profiled code; nothing saved")
        codes = signal_handler_codes()
        counts = count_calls(fn, stops=lambda exc: stops_the_run(exc, codes))
        if counts:
            save_counts(calls_path(target), counts)
        return ProfileResult(
            profiler=window.backend if samples else "none",
            note="; ".join(notes) or None,
            samples=samples,
            hot_frames=hot_frames(window.stacks, top=DEFAULT_TOP),
            files={"raw": str(target)} if samples else {},
            stack_profiler=window.backend if samples else None,
            calls=window.tally.calls,
            errors=window.tally.errors,
            first_error=window.tally.first_error,
            seconds=window.seconds,
        )
    except Exception as exc:
        notes.append(f"profiling failed ({type(exc).__name__}: {exc})")
        return ProfileResult(profiler="none", note="; ".join(notes))
