"""torch operator profiling: an operator table and a Chrome trace.

torch is imported lazily, only by :class:`TorchOpProfiler`. Choices, each from
a measurement on torch 2.13 (CPU build; see docs/profiling.md):

- ``torch.autograd.profiler.profile(use_kineto=True)`` is used rather than the
  ``torch.profiler.profile`` wrapper: the wrapper's first start evaluates
  ``hasattr(torch, "_inductor")``, which imports inductor and dynamo, about 3 s.
- Only a few calls are recorded (the plugin's window keeps running under the
  stack sampler): post-processing costs roughly 0.1 ms per recorded operator
  event, and a 2 s window of a small model records ~10^5 events, which took
  30-40 s to tabulate and wrote a 100 MB trace.
- Stacks come from the stack sampler, not ``export_stacks``: on 2.13 that
  writes an empty file unless the verbose experimental config is on
  (pytorch#100253), and with it on the profiled code ran up to 2x slower.
- ``KINETO_LOG_LEVEL=6`` (unless already set) silences kineto's
  ``profiler_start``/``profiler_stop`` lines on stderr.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from pytest_prodguard.extras import install_hint

TABLE_NAME_WIDTH = 44


def torch_importable() -> tuple[bool, str]:
    """``(True, "")`` when torch imports, else ``(False, one-line reason)``."""
    try:
        import torch  # noqa: F401
    except Exception as exc:  # a broken install raises more than ImportError
        reason = f"{type(exc).__name__}: {exc}"
        return False, f"torch is not importable ({reason}); {install_hint('torch')}"
    return True, ""


class TorchOpProfiler:
    """Record torch operator events (CPU, plus CUDA when available) between start and stop."""

    def __init__(self) -> None:
        os.environ.setdefault("KINETO_LOG_LEVEL", "6")
        import torch

        self._torch: Any = torch
        self.cuda = bool(torch.cuda.is_available())
        self._profile: Any = None
        self._averages: Any = None

    def start(self) -> None:
        """Begin recording operator events."""
        profiler = self._torch.autograd.profiler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._profile = profiler.profile(
                use_cpu=True,
                use_device="cuda" if self.cuda else None,
                use_kineto=True,
                record_shapes=False,
            )
            self._profile.__enter__()

    def stop(self) -> None:
        """End recording (synchronises CUDA work first when CUDA is recorded)."""
        if self._profile is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.cuda:
                self._torch.cuda.synchronize()
            self._profile.__exit__(None, None, None)

    def sort_key(self) -> str:
        """The table's sort column: self device (CUDA) time when any was recorded, else CPU."""
        if self.cuda and any(
            getattr(event, "self_device_time_total", 0) > 0 for event in self._key_averages()
        ):
            return "self_device_time_total"
        return "self_cpu_time_total"

    def _key_averages(self) -> Any:
        if self._averages is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._averages = self._profile.key_averages()
        return self._averages

    def aten_op_count(self) -> int:
        """How many distinct ``aten::`` operators were recorded."""
        if self._profile is None:
            return 0
        return sum(1 for event in self._key_averages() if str(event.key).startswith("aten::"))

    def table(self, *, rows: int) -> str:
        """torch's own top-``rows`` operator table, sorted by :meth:`sort_key`."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text: str = self._key_averages().table(
                sort_by=self.sort_key(), row_limit=rows, max_name_column_width=TABLE_NAME_WIDTH
            )
        return text.rstrip()

    def export_chrome_trace(self, path: Path) -> None:
        """Write the Chrome trace (open it in chrome://tracing or ui.perfetto.dev)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._profile.export_chrome_trace(str(path))
