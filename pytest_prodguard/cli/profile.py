"""``prodguard profile -- CMD``: profile a command with py-spy as its parent.

Its arguments are passed through untouched, so :func:`run_profile` is called by
``main`` before argparse sees them; ``register`` only adds the help entry.
"""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the ``prodguard profile`` help entry."""
    commands.add_parser("profile", help="profile a command with py-spy as its parent: -- CMD ...")


def run_profile(argv: list[str]) -> int:
    """Run ``prodguard profile`` with its raw arguments; returns the exit status."""
    from pytest_prodguard.profiling import profile_command

    if argv[:1] in (["-h"], ["--help"]):
        from pytest_prodguard.profiling.command import USAGE

        print(USAGE)
        print("Runs CMD as py-spy's child (no ptrace rights needed) and writes the hottest")
        print("frames, stacks.txt and flamegraph.svg; exits with CMD's own exit status.")
        return 0
    return int(profile_command(argv))
