"""py-spy driven from inside the process it profiles.

Facts this module is built on (measured with py-spy 0.4.3, see the docs):
``py-spy record`` prints its ``Sampling process`` banner on **stdout** once it
has attached; SIGINT makes it write its output file and exit; one run writes
one format, so ``raw`` (folded stacks) is recorded and everything else is
derived; a denied attach prints ``Permission Denied: ...`` on stderr and exits
with status 1. Whether py-spy can attach is probed once per process with
``py-spy dump --pid <own pid>`` (20-60 ms) and cached.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_prodguard.extras import install_hint

#: Set to ``0`` (or ``false``/``no``/``off``) to never use py-spy (forces the builtin sampler).
ENV_ENABLE = "PRODGUARD_PYSPY"
#: Path (or command name) of the py-spy executable to use instead of the one found.
ENV_BINARY = "PRODGUARD_PYSPY_BIN"

BANNER = "Sampling process"
PROBE_TIMEOUT_S = 15.0
ATTACH_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0
_FALSE_WORDS = {"0", "false", "no", "off"}
_PR_SET_PTRACER = 0x59616D61
_PR_SET_PTRACER_ANY = ctypes.c_ulong(-1).value

_status_cache: dict[tuple[int, str | None], tuple[bool, str]] = {}


def find_pyspy() -> str | None:
    """Locate the py-spy executable.

    Order: ``$PRODGUARD_PYSPY_BIN``; the scripts folder of this interpreter
    (where ``pip install py-spy`` put it, even without an activated venv); then
    ``PATH``. The scripts folder comes before ``PATH`` because a ``PATH`` entry
    may be a different py-spy, or a pyenv shim that costs a shell start per call.
    """
    override = os.environ.get(ENV_BINARY)
    if override:
        return override if os.path.sep in override else shutil.which(override)
    name = "py-spy.exe" if os.name == "nt" else "py-spy"
    scripts = sysconfig.get_path("scripts")
    if scripts:
        candidate = os.path.join(scripts, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("py-spy")


def env_disabled_reason() -> str | None:
    """``"disabled by PRODGUARD_PYSPY=0"`` when the user switched py-spy off, else ``None``."""
    value = os.environ.get(ENV_ENABLE, "").strip().lower()
    if value in _FALSE_WORDS:
        return f"disabled by {ENV_ENABLE}={os.environ[ENV_ENABLE]}"
    return None


def pyspy_disabled_reason() -> str | None:
    """Why py-spy must not attach to this process regardless of the probe, or ``None``."""
    disabled = env_disabled_reason()
    if disabled is not None:
        return disabled
    if os.name == "nt":
        return "self-attach is not supported on Windows (use `prodguard profile -- CMD`)"
    return None


def pyspy_status() -> tuple[bool, str]:
    """``(usable, reason)``: can py-spy sample this process?

    Probed once per process and binary with ``py-spy dump --pid <own pid>``; the
    answer is cached (``reset_pyspy_status()`` forgets it). ``reason`` is one
    line: the probe's own error message when it fails.
    """
    disabled = pyspy_disabled_reason()
    if disabled is not None:
        return False, disabled
    binary = find_pyspy()
    key = (os.getpid(), binary)
    if key not in _status_cache:
        _status_cache[key] = _probe(binary)
    return _status_cache[key]


def reset_pyspy_status() -> None:
    """Forget the cached probe results (tests; a changed environment)."""
    _status_cache.clear()


def _probe(binary: str | None) -> tuple[bool, str]:
    if binary is None:
        hint = install_hint("profile")
        return False, f"py-spy executable not found ({hint}, or set {ENV_BINARY})"
    command = [binary, "dump", "--pid", str(os.getpid())]
    started = time.perf_counter()
    try:
        with allow_ptrace():
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=PROBE_TIMEOUT_S,
                check=False,
            )
    except subprocess.TimeoutExpired:
        return False, f"py-spy dump did not answer within {PROBE_TIMEOUT_S:g} s"
    except OSError as exc:
        return False, f"py-spy could not be started: {exc}"
    if done.returncode != 0:
        message = first_line(done.stderr) or first_line(done.stdout) or "no output"
        return False, f"py-spy cannot attach (exit {done.returncode}): {message}"
    elapsed_ms = 1000 * (time.perf_counter() - started)
    return True, f"py-spy attached to pid {os.getpid()} ({elapsed_ms:.0f} ms probe)"


def first_line(text: str) -> str:
    """The first non-empty line of ``text``, stripped, capped at 200 characters."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped[:200]
    return ""


@contextlib.contextmanager
def allow_ptrace() -> Iterator[None]:
    """Let any process ptrace this one while the block runs (Linux with Yama only).

    Under Yama ``ptrace_scope=1`` only ancestors may attach, and py-spy is our
    child; ``prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY)`` lifts that for this
    process. Without Yama the call fails with EINVAL, which is ignored. The
    setting is reset when the block ends.
    """
    libc = _libc()
    if libc is None:
        yield
        return
    libc.prctl(_PR_SET_PTRACER, ctypes.c_ulong(_PR_SET_PTRACER_ANY), 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(_PR_SET_PTRACER, ctypes.c_ulong(0), 0, 0, 0)


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


class PySpyRecorder:
    """``py-spy record --pid <own pid> -f raw`` around a block of work.

    ``start()`` returns once py-spy printed its banner (it is attached) or
    returns an error line; ``stop()`` sends SIGINT, waits for the output file
    and returns an error line or ``None``. Idle frames are kept (``--idle``) so
    time spent sleeping or waiting shows up; file names are absolute
    (``--full-filenames``) so frames can be matched to source lines.
    """

    def __init__(self, *, binary: str, output: Path, rate: int) -> None:
        self.binary = binary
        self.output = output
        self.rate = rate
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: list[str] = []
        self._banner = threading.Event()  # set on the banner, or at EOF
        self._attached = False
        self._reader: threading.Thread | None = None
        self._ptrace: contextlib.ExitStack | None = None

    def command(self) -> list[str]:
        """The py-spy command line."""
        return [
            self.binary,
            "record",
            "--pid",
            str(os.getpid()),
            "--format",
            "raw",
            "--output",
            str(self.output),
            "--rate",
            str(self.rate),
            "--idle",
            "--full-filenames",
        ]

    def start(self, timeout: float = ATTACH_TIMEOUT_S) -> str | None:
        """Start py-spy and wait for it to attach; an error line, or ``None`` on success."""
        self._ptrace = contextlib.ExitStack()
        self._ptrace.enter_context(allow_ptrace())
        try:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal must not stop it early
            )
        except OSError as exc:
            self._release_ptrace()
            return f"py-spy could not be started: {exc}"
        self._reader = threading.Thread(
            target=self._read_output, name="prodguard-py-spy", daemon=True
        )
        self._reader.start()
        if self._banner.wait(timeout) and self._attached and self._process.poll() is None:
            return None
        error = self._failure_text(f"py-spy did not attach within {timeout:g} s")
        self._kill()
        return error

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> str | None:
        """Stop py-spy (SIGINT) and wait for it to write; an error line, or ``None``."""
        process = self._process
        if process is None:
            return "py-spy was not started"
        try:
            if process.poll() is not None:
                return self._failure_text(f"py-spy exited early with status {process.returncode}")
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                return f"py-spy did not stop within {timeout:g} s"
            if self._reader is not None:
                self._reader.join(timeout)
            if process.returncode != 0:
                return self._failure_text(f"py-spy exited with status {process.returncode}")
            return None
        finally:
            self._release_ptrace()

    def _read_output(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        with process.stdout:
            for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip()
                self._lines.append(line)
                if BANNER in line:
                    self._attached = True
                    self._banner.set()
        self._banner.set()  # EOF: py-spy exited; start() checks poll()

    def _failure_text(self, fallback: str) -> str:
        if self._process is not None and self._process.poll() is not None and self._reader:
            self._reader.join(1.0)
        meaningful = [
            line.strip()
            for line in self._lines
            if line.strip() and BANNER not in line and "Stopped sampling" not in line
        ]
        return meaningful[0][:200] if meaningful else fallback

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5.0)
        self._release_ptrace()

    def _release_ptrace(self) -> None:
        if self._ptrace is not None:
            self._ptrace.close()
            self._ptrace = None
