"""``prodguard profile -- CMD``: profile a whole command with py-spy as its parent.

For machines where py-spy may not attach to a running process (Yama
``ptrace_scope=1``, containers without ``SYS_PTRACE``), py-spy can still
profile a process it starts itself. This command runs
``py-spy record --subprocesses -- python _exitstatus.py ... -- CMD``: the small
wrapper records CMD's exit status (py-spy always exits 0), the wrapper's own
stacks are dropped, and the same outputs as the plugin's are written
(``stacks.txt``, ``flamegraph.svg``) and the hottest frames printed on stderr.
CMD keeps the terminal's stdout and stderr. Sampling always covers the whole
command: py-spy's ``--duration`` kills the command when it ends (measured on
py-spy 0.4.3), which would lose its exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.profiling import _exitstatus, pyspy
from pytest_prodguard.profiling.files import (
    DEFAULT_PROFILE_DIR,
    STACKS_FILE,
    SVG_FILE,
    prepare_folder,
    sanitize_nodeid,
    temporary_path,
)
from pytest_prodguard.profiling.result import ProfileResult
from pytest_prodguard.profiling.runner import DEFAULT_RATE, DEFAULT_TOP, check_profile_options
from pytest_prodguard.profiling.stacks import (
    format_folded,
    hot_frames,
    parse_folded,
    strip_process_frames,
    total_samples,
)
from pytest_prodguard.profiling.svg import render_flamegraph

USAGE = "usage: prodguard profile [--out DIR] [--name NAME] [--rate HZ] [--top N] -- CMD [ARG ...]"
INTERRUPTED_STATUS = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ProdguardUsageError("prodguard profile", message, USAGE)


@dataclass(frozen=True)
class CommandOptions:
    """Parsed ``prodguard profile`` arguments."""

    out: Path
    name: str
    rate: int
    top: int
    command: list[str]


def parse_command_args(argv: list[str]) -> CommandOptions:
    """Parse ``[options] -- CMD ...``; raise :class:`ProdguardUsageError` on bad input."""
    if "--" in argv:
        split = argv.index("--")
        option_args, command = argv[:split], argv[split + 1 :]
    else:
        option_args, command = [], list(argv)
        if command and command[0].startswith("-"):
            raise ProdguardUsageError("prodguard profile", argv, USAGE + " (put -- before CMD)")
    parser = _Parser(prog="prodguard profile", add_help=False)
    parser.add_argument("--out", type=Path, default=DEFAULT_PROFILE_DIR)
    parser.add_argument("--name", default=None)
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE)
    parser.add_argument("--top", type=int, default=DEFAULT_TOP)
    parsed = parser.parse_args(option_args)
    if not command:
        raise ProdguardUsageError(
            "CMD", command, "a command to run after --, e.g. -- python app.py"
        )
    options = check_profile_options(rate=parsed.rate, top=parsed.top, source="prodguard profile")
    name = parsed.name or sanitize_nodeid(" ".join([os.path.basename(command[0]), *command[1:]]))
    return CommandOptions(parsed.out, name, options.rate, options.top, command)


def profile_command(argv: list[str]) -> int:
    """Run ``prodguard profile [options] -- CMD``; return CMD's own exit status.

    Without a usable py-spy (not installed, ``PRODGUARD_PYSPY=0``, or py-spy
    fails to start CMD) CMD still runs, unprofiled, and a one-line note says why.
    """
    options = parse_command_args(argv)
    disabled = pyspy.env_disabled_reason()
    binary = None if disabled else pyspy.find_pyspy()
    if binary is None:
        reason = disabled or "py-spy executable not found"
        return _run_unprofiled(options.command, f"not profiled: {reason}")
    try:
        folder = prepare_folder(options.out, options.name)
    except OSError as exc:  # the command still runs: profiling is never in its way
        return _run_unprofiled(options.command, f"not profiled: cannot write {options.out}: {exc}")
    status_path = temporary_path(folder, "exit-status")
    raw_path = temporary_path(folder, "py-spy-raw")
    try:
        spy_output, interrupted = _record(binary, options, status_path, raw_path)
        status = _read_status(status_path)
        if status is None:
            reason = pyspy.first_line(spy_output) or "py-spy did not start the command"
            return _run_unprofiled(options.command, f"not profiled: {reason}")
        result = _summarise(raw_path, folder, options)
        print(result.section(), file=sys.stderr)
        if status == _exitstatus.STARTED:
            return INTERRUPTED_STATUS if interrupted else 1
        return int(status)
    finally:
        for scratch in (status_path, raw_path):
            with contextlib.suppress(OSError):
                scratch.unlink()


def _record(
    binary: str, options: CommandOptions, status_path: Path, raw_path: Path
) -> tuple[str, bool]:
    """Run py-spy -> wrapper -> CMD; return py-spy's output and whether Ctrl-C stopped it."""
    out_fd, err_fd = _dup_or_none(1), _dup_or_none(2)
    passed = [fd for fd in (out_fd, err_fd) if fd is not None]
    command = [
        binary,
        "record",
        "--format",
        "raw",
        "--output",
        str(raw_path),
        "--rate",
        str(options.rate),
        "--idle",
        "--full-filenames",
        "--subprocesses",
        "--",
        sys.executable,
        _exitstatus.__file__,
        str(status_path),
        str(-1 if out_fd is None else out_fd),
        str(-1 if err_fd is None else err_fd),
        "--",
        *options.command,
    ]
    try:
        process = subprocess.Popen(
            command,
            stdin=None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=passed,
        )
    except OSError as exc:
        return f"py-spy could not be started: {exc}", False
    finally:
        for fd in passed:
            os.close(fd)
    interrupted = False
    try:
        output, _ = process.communicate()
    except KeyboardInterrupt:
        interrupted = True
        output, _ = process.communicate()
    return output.decode("utf-8", "replace"), interrupted


def _dup_or_none(fd: int) -> int | None:
    if os.name == "nt":
        return None
    try:
        return os.dup(fd)
    except OSError:
        return None


def _read_status(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _summarise(raw_path: Path, folder: Path, options: CommandOptions) -> ProfileResult:
    try:
        text = raw_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ProfileResult(profiler="none", note="py-spy wrote no stacks")
    stacks = strip_process_frames(parse_folded(text), drop_root_only=True)
    samples = total_samples(stacks)
    if not samples:
        return ProfileResult(profiler="none", note="py-spy took no samples of the command")
    stacks_path, svg_path = folder / STACKS_FILE, folder / SVG_FILE
    title = f"{' '.join(options.command)} (py-spy, {samples} samples)"
    note, files = None, {"raw": str(stacks_path), "svg": str(svg_path)}
    try:
        atomic_write_text(stacks_path, format_folded(stacks))
        atomic_write_text(svg_path, render_flamegraph(stacks, title=title))
    except OSError as exc:
        note, files = f"profile files not written: {exc}", {}
    return ProfileResult(
        profiler="py-spy",
        stack_profiler="py-spy",
        samples=samples,
        hot_frames=hot_frames(stacks, top=options.top),
        files=files,
        note=note,
    )


def _run_unprofiled(command: list[str], note: str) -> int:
    print(f"prodguard profile: {note}", file=sys.stderr)
    try:
        returncode = subprocess.call(command)
    except OSError as exc:
        print(f"prodguard profile: cannot run {command[0]!r}: {exc}", file=sys.stderr)
        return _exitstatus.NOT_FOUND_STATUS
    return 128 - returncode if returncode < 0 else returncode
