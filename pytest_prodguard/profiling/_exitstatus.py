"""Run a command and write its exit status to a file (helper of ``prodguard profile``).

``py-spy record -- CMD`` always exits 0, whatever CMD returned, so
``prodguard profile`` makes py-spy start this script instead, which runs CMD
as its child and records CMD's status. It is run by file path with the same
interpreter (``python _exitstatus.py STATUS OUT_FD ERR_FD -- CMD ...``) and
uses the standard library only. ``OUT_FD``/``ERR_FD`` are the caller's
stdout/stderr, passed through py-spy, so CMD writes to the terminal while
py-spy's own chatter is captured; ``-1`` means "inherit".

The status file reads ``started`` while CMD runs, then CMD's exit status
(``128 + N`` when a signal N ended it, ``127`` when CMD could not be started).
"""

from __future__ import annotations

import os
import subprocess
import sys

STARTED = "started"
NOT_FOUND_STATUS = 127


def _usable_fd(value: str) -> int | None:
    try:
        fd = int(value)
        if fd < 0:
            return None
        os.fstat(fd)
    except (ValueError, OSError):
        return None
    return fd


def _write(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.part"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    """Run ``argv[4:]`` (after ``--``), record its exit status, and return it."""
    if len(argv) < 5 or argv[3] != "--":
        print("usage: _exitstatus.py STATUS OUT_FD ERR_FD -- CMD ...", file=sys.stderr)
        return 2
    status_path, command = argv[0], argv[4:]
    out_fd, err_fd = _usable_fd(argv[1]), _usable_fd(argv[2])
    _write(status_path, STARTED)
    try:
        returncode = subprocess.call(command, stdout=out_fd, stderr=err_fd)
    except OSError as exc:
        message = f"prodguard profile: cannot run {command[0]!r}: {exc}\n"
        os.write(sys.stderr.fileno() if err_fd is None else err_fd, message.encode())
        returncode = NOT_FOUND_STATUS
    if returncode < 0:
        returncode = 128 - returncode
    _write(status_path, str(returncode))
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
