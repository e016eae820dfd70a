"""Numeric variations of numpy arrays and torch tensors.

Bounded noise (L-inf or L2 radius), scaling, small shifts, extreme values,
NaN/Inf injection, dtype changes, batch sizes and lengths along an axis. The
operations work on numpy; a torch tensor is converted on the way in and back
(same device, same dtype) on the way out, so torch is only touched when the
user passes a tensor. Noise is generated from a seed stored in the step, which
keeps a variation small, hashable and replayable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import (
    check_choice,
    check_int,
    check_op_selection,
    check_positive_float,
    short_value,
)
from pytest_prodguard.robustness._arrays import (
    dtype_name,
    is_array_like,
    is_tensor,
    like,
    shape_of,
    to_numpy,
    torch_if_loaded,
)
from pytest_prodguard.robustness._draw import Draw, plan_strategy
from pytest_prodguard.robustness._variation import (
    Edit,
    Operation,
    Variation,
    compose,
    register_operation,
)

__all__ = ["TENSOR_KINDS", "TensorPlan", "tensor_variations"]

_LEVELS = 20  # noise/scale/shift magnitudes are drawn as k/20 of the allowed maximum
_FLOAT_DTYPES = ("float16", "float32", "float64", "bfloat16")
_KNOWN_DTYPES = (*_FLOAT_DTYPES, "int8", "int16", "int32", "int64", "uint8")
_EXTREMES = ("zero", "large", "-large", "max", "-max", "tiny")


def _num(value: float) -> str:
    return f"{value:.3g}"


def _numeric(
    fn: Callable[..., np.ndarray], on_tensor: Callable[..., Any] | None = None
) -> Callable[..., Any]:
    """Run a numpy operation on an array or tensor, returning the same container.

    ``on_tensor`` is a torch-native version that skips the round trip through
    numpy (the batched search applies thousands of steps per second).
    """

    def apply(x: Any, *args: Any) -> Any:
        if on_tensor is not None and is_tensor(x):
            return on_tensor(x, *args)
        return like(x, fn(np.asarray(to_numpy(x)), *args))

    return apply


def _tensor_offset(x: Any, delta: np.ndarray) -> Any:
    """``x + delta`` computed in float64, cast back to ``x``'s dtype and device."""
    torch = torch_if_loaded()
    offset = torch.from_numpy(delta.reshape(tuple(x.shape))).to(x.device)
    return (x.to(torch.float64) + offset).to(x.dtype)


def _noise_delta(shape: tuple[int, ...], norm: str, radius: float, seed: int) -> np.ndarray:
    size = int(np.prod(shape)) if shape else 1
    if norm == "linf":
        return (2.0 * _uniform(seed, 0, size) - 1.0) * radius
    # Box-Muller: a standard normal direction, scaled to the L2 radius.
    u1, u2 = _uniform(seed, 0, size), _uniform(seed, 1, size)
    direction = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    scaled: np.ndarray = direction * (radius / max(float(np.linalg.norm(direction)), 1e-300))
    return scaled


def _cast_back(values: np.ndarray, template: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(template.dtype, copy=False)


_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _uniform(seed: int, stream: int, size: int) -> np.ndarray:
    """``size`` uniforms in (0, 1) from SplitMix64 over a counter.

    Constructing a numpy Generator costs tens of microseconds (seed hashing),
    which dominated batched searches; SplitMix64 is a well-tested 64-bit mixer
    that is stateless, identical for numpy and torch inputs, and costs a few
    vector operations.
    """
    offset = np.uint64(((seed * 2 + stream) * _GOLDEN * (size + 1)) % 2**64)
    z = _counter(size) + offset
    z ^= z >> _S30
    z *= _MIX1
    z ^= z >> _S27
    z *= _MIX2
    z ^= z >> _S31
    z >>= _S11
    uniforms: np.ndarray = (z.astype(np.float64) + 0.5) * 2.0**-53
    return uniforms


@functools.lru_cache(maxsize=64)
def _counter_cached(size: int) -> np.ndarray:
    counter: np.ndarray = np.arange(1, size + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
    counter.setflags(write=False)
    return counter


def _counter(size: int) -> np.ndarray:
    return _counter_cached(size) if size <= 1 << 16 else _counter_cached.__wrapped__(size)


def _noise(array: np.ndarray, norm: str, radius: float, seed: int) -> np.ndarray:
    if array.size == 0:
        return np.array(array, copy=True)
    delta = _noise_delta(array.shape, norm, radius, seed)
    return _cast_back(array.astype(np.float64) + delta.reshape(array.shape), array)


def _tensor_noise(x: Any, norm: str, radius: float, seed: int) -> Any:
    if x.numel() == 0:
        return x.clone()
    return _tensor_offset(x, _noise_delta(tuple(x.shape), norm, radius, seed))


def _tensor_scale(x: Any, factor: float) -> Any:
    torch = torch_if_loaded()
    return (x.to(torch.float64) * factor).to(x.dtype)


def _tensor_shift(x: Any, delta: float) -> Any:
    torch = torch_if_loaded()
    return (x.to(torch.float64) + delta).to(x.dtype)


def _index(array: np.ndarray, index: tuple[int, ...]) -> tuple[int, ...]:
    """``index`` clamped into ``array`` (falls back to the first element)."""
    if len(index) != array.ndim:
        return (0,) * array.ndim
    return tuple(max(0, min(i, n - 1)) for i, n in zip(index, array.shape, strict=True))


def _set(array: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    out = np.array(array, copy=True)
    if out.size:
        with np.errstate(over="ignore", invalid="ignore"):
            out[_index(out, index)] = value
    return out


def _extreme_value(array: np.ndarray, which: str) -> float:
    if not np.issubdtype(array.dtype, np.floating):
        ints = np.iinfo(array.dtype)
        return {
            "zero": 0,
            "large": ints.max,
            "-large": ints.min,
            "max": ints.max,
            "-max": ints.min,
            "tiny": 1,
        }[which]
    floats = np.finfo(array.dtype)
    finite = np.abs(array[np.isfinite(array)]) if array.size else array
    biggest = float(np.max(finite)) if finite.size else 1.0
    large = min(1e6 * max(biggest, 1.0), float(floats.max))
    values = {
        "zero": 0.0,
        "large": large,
        "-large": -large,
        "max": float(floats.max),
        "-max": float(floats.min),
        "tiny": float(floats.tiny),
    }
    return values[which]


def _astype(x: Any, name: str) -> Any:
    if is_tensor(x):
        torch = torch_if_loaded()
        return x.to(getattr(torch, name))
    return np.asarray(x).astype(name)


def _batch(array: np.ndarray, size: int) -> np.ndarray:
    if array.ndim == 0 or array.shape[0] == 0:
        return np.array(array, copy=True)
    return np.asarray(array[np.arange(size) % array.shape[0]])


def _length(array: np.ndarray, axis: int, size: int) -> np.ndarray:
    if array.ndim == 0:
        return np.array(array, copy=True)
    axis = axis % array.ndim
    current = array.shape[axis]
    if size <= current:
        return np.take(array, np.arange(size), axis=axis)
    pad = [(0, 0)] * array.ndim
    pad[axis] = (0, size - current)
    return np.pad(array, pad)


def _at(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def _register(
    name: str,
    kind: str,
    apply: Callable[..., Any],
    describe: Callable[..., str],
    rows: Callable[..., np.ndarray] | None = None,
) -> None:
    register_operation(Operation(name, kind, "tensor", apply, describe, rows))


_register(
    "noise",
    "noise",
    _numeric(_noise, _tensor_noise),
    lambda norm, radius, seed: f"noise({norm} {_num(radius)}, seed {seed})",
)
_register(
    "scale",
    "scaling",
    _numeric(lambda a, factor: _cast_back(a.astype(np.float64) * factor, a), _tensor_scale),
    lambda factor: f"scale(x{factor:.4g})",
)
_register(
    "shift",
    "shift",
    _numeric(lambda a, delta: _cast_back(a.astype(np.float64) + delta, a), _tensor_shift),
    lambda delta: f"shift({delta:+.3g})",
)
_register(
    "extreme",
    "extremes",
    _numeric(lambda a, index, which: _set(a, index, _extreme_value(a, which))),
    lambda index, which: f"extreme({which} at {_at(index)})",
)
for _name, _label, _value in (
    ("nan", "nan", float("nan")),
    ("inf", "inf", float("inf")),
    ("neg_inf", "-inf", float("-inf")),
):
    _register(
        _name,
        "nonfinite",
        _numeric(lambda a, index, value=_value: _set(a, index, value)),
        lambda index, label=_label: f"{label}(at {_at(index)})",
    )
_register("astype", "dtype", _astype, lambda name: f"astype({name})")
_register(
    "batch",
    "batch",
    _numeric(_batch),
    lambda size: f"batch(size {size})",
    rows=lambda n_rows, size: np.arange(size) % max(n_rows, 1),
)
_register(
    "length",
    "length",
    _numeric(_length),
    lambda axis, size: f"length({size} on axis {axis})",
)
del _name, _label, _value

#: The kinds of tensor variation, in shrink order, and the op names of each.
TENSOR_KINDS: dict[str, tuple[str, ...]] = {
    "noise": ("noise",),
    "scaling": ("scale",),
    "shift": ("shift",),
    "extremes": ("extreme",),
    "nonfinite": ("nan", "inf", "neg_inf"),
    "dtypes": ("astype",),
    "batch_sizes": ("batch",),
    "lengths": ("length",),
}
_NEEDS_FLOAT = frozenset({"noise", "scale", "shift", "nan", "inf", "neg_inf"})


@dataclass(frozen=True)
class TensorPlan:
    """Validated tensor-variation options; draws one :class:`Variation` per call."""

    ops: tuple[str, ...]
    norm: str
    radius: float
    min_scale: float
    max_scale: float
    max_shift: float
    extremes: tuple[str, ...]
    dtypes: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    lengths: tuple[int, ...]
    length_axis: int
    min_steps: int
    max_steps: int

    def draw(self, x: Any, d: Draw) -> Variation:
        """Draw up to ``max_steps`` steps against ``x`` as varied so far."""
        return self.draw_applied(x, d)[0]

    def draw_applied(self, x: Any, d: Draw) -> tuple[Variation, Any]:
        """:meth:`draw`, also returning the varied input (computed along the way)."""
        steps: list[Edit] = []
        current = x
        for position in range(self.max_steps):
            optional = position >= self.min_steps
            step = d.group(functools.partial(self._draw_step, x=current, optional=optional))
            if step is None:
                break
            steps.append(step)
            current = step(current)
        return compose(*steps), current

    def _draw_step(self, d: Draw, *, x: Any, optional: bool) -> Edit | None:
        """One step (or None to stop), drawn as one group so shrinking can delete it whole."""
        if optional and not d.more():
            return None
        candidates = self._applicable(shape_of(x), dtype_name(x))
        if not candidates:
            return None
        op = d.choice_where(self.ops, candidates.__contains__)
        return Edit(op, self._args(op, x, d))

    def _applicable(self, shape: tuple[int, ...], dtype: str) -> list[str]:
        return _tensor_applicable_cached(self, shape, dtype)

    def _applies(self, op: str, shape: tuple[int, ...], dtype: str) -> bool:
        size = int(np.prod(shape)) if shape else 1
        if op in _NEEDS_FLOAT:
            return size > 0 and dtype in _FLOAT_DTYPES
        if op == "extreme":
            return size > 0
        if op == "astype":
            return any(name != dtype for name in self.dtypes)
        if op == "batch":
            return len(shape) >= 1 and shape[0] > 0
        if op == "length":
            return len(shape) >= 1
        return True

    def _args(self, op: str, x: Any, d: Draw) -> tuple[Any, ...]:
        if op == "noise":
            level = d.integer(1, _LEVELS)
            return (self.norm, self.radius * level / _LEVELS, d.integer(0, 2**16))
        if op == "scale":
            return (self._draw_factor(d),)
        if op == "shift":
            sign = d.choice((1, -1))
            return (sign * self.max_shift * d.integer(1, _LEVELS) / _LEVELS,)
        if op == "astype":
            return (d.choice_where(self.dtypes, lambda name: name != dtype_name(x)),)
        if op == "batch":
            return (d.choice(self.batch_sizes),)
        if op == "length":
            return (self.length_axis, d.choice(self.lengths))
        index = tuple(d.integer(0, n - 1) for n in shape_of(x))
        if op == "extreme":
            return (index, d.choice(self.extremes))
        return (index,)

    def _draw_factor(self, d: Draw) -> float:
        directions = [s for s, ok in ((1, self.max_scale > 1), (-1, self.min_scale < 1)) if ok]
        level = d.integer(1, _LEVELS) / _LEVELS
        if d.choice(directions) > 0:
            return 1 + (self.max_scale - 1) * level
        return 1 - (1 - self.min_scale) * level


@functools.lru_cache(maxsize=256)
def _tensor_applicable_cached(plan: TensorPlan, shape: tuple[int, ...], dtype: str) -> list[str]:
    return [op for op in plan.ops if plan._applies(op, shape, dtype)]


def make_tensor_plan(
    x: Any,
    *,
    noise: object = None,
    norm: object = "linf",
    radius: object = 0.01,
    scaling: object = None,
    min_scale: object = 0.9,
    max_scale: object = 1.1,
    shift: object = None,
    max_shift: object = 0.01,
    extremes: object = False,
    nonfinite: object = False,
    dtypes: object = False,
    batch_sizes: object = False,
    max_batch_size: object = 256,
    lengths: object = False,
    length_axis: object = -1,
    max_length: object = None,
    min_steps: object = 0,
    max_steps: object = 2,
) -> TensorPlan:
    """Validate tensor-variation options for ``x`` (see :func:`tensor_variations`)."""
    if not is_array_like(x):
        raise ProdguardUsageError("x", short_value(x), "a numpy array or torch tensor to vary")
    floating = dtype_name(x) in _FLOAT_DTYPES
    ops: list[str] = []
    for kind, switch in (("noise", noise), ("scaling", scaling), ("shift", shift)):
        if _auto_switch(kind, switch, floating, x):
            ops.extend(TENSOR_KINDS[kind])
    low_scale, high_scale = _scale_range(min_scale, max_scale)
    extreme_kinds = _selection("extremes", extremes, _EXTREMES)
    ops += ["extreme"] if extreme_kinds else []
    ops += _float_only("nonfinite", nonfinite, floating, x)
    dtype_names = _dtypes(dtypes, x)
    ops += ["astype"] if dtype_names else []
    sizes = _batch_sizes(batch_sizes, max_batch_size, x)
    ops += ["batch"] if sizes else []
    axis, length_sizes = _lengths(lengths, length_axis, max_length, x)
    ops += ["length"] if length_sizes else []
    low = check_int("min_steps", min_steps, min_value=0)
    high = check_int("max_steps", max_steps, min_value=max(low, 1))
    if not ops:
        raise ProdguardUsageError(
            "kinds", "all disabled", "at least one kind of variation enabled (e.g. noise=True)"
        )
    return TensorPlan(
        ops=tuple(ops),
        norm=check_choice("norm", norm, ("linf", "l2")),
        radius=check_positive_float("radius", radius),
        min_scale=low_scale,
        max_scale=high_scale,
        max_shift=check_positive_float("max_shift", max_shift),
        extremes=extreme_kinds,
        dtypes=dtype_names,
        batch_sizes=sizes,
        lengths=length_sizes,
        length_axis=axis,
        min_steps=low,
        max_steps=high,
    )


def _auto_switch(kind: str, switch: object, floating: bool, x: Any) -> bool:
    """``None`` means on for floating inputs; ``True`` on a non-float input is an error."""
    if switch is None:
        return floating
    if not isinstance(switch, bool):
        raise ProdguardUsageError(kind, switch, "True, False or None (on for float inputs)")
    if switch and not floating:
        raise ProdguardUsageError(
            kind, switch, f"False for a {dtype_name(x)} input (only float inputs take {kind})"
        )
    return switch


def _float_only(kind: str, switch: object, floating: bool, x: Any) -> list[str]:
    selected = list(_selection(kind, switch, TENSOR_KINDS[kind]))
    if selected and not floating:
        raise ProdguardUsageError(
            kind, switch, f"False for a {dtype_name(x)} input (only float inputs take {kind})"
        )
    return selected


def _selection(field: str, value: object, options: Sequence[str]) -> tuple[str, ...]:
    return check_op_selection(field, value, options)


def _scale_range(min_scale: object, max_scale: object) -> tuple[float, float]:
    low = check_positive_float("min_scale", min_scale)
    high = check_positive_float("max_scale", max_scale)
    if low > 1:
        raise ProdguardUsageError("min_scale", min_scale, "a number in (0, 1]")
    if high < 1:
        raise ProdguardUsageError("max_scale", max_scale, "a number >= 1")
    if low == high:
        raise ProdguardUsageError(
            "max_scale", max_scale, "a number > min_scale (the range must contain more than 1)"
        )
    return low, high


def _dtypes(dtypes: object, x: Any) -> tuple[str, ...]:
    tensor = is_tensor(x)
    available = _FLOAT_DTYPES if tensor else _FLOAT_DTYPES[:3]
    if dtypes is True:
        return tuple(name for name in available if name != dtype_name(x))
    if dtypes is False or dtypes is None:
        return ()
    allowed = _KNOWN_DTYPES if tensor else tuple(n for n in _KNOWN_DTYPES if n != "bfloat16")
    return _selection("dtypes", dtypes, allowed)


def _batch_sizes(batch_sizes: object, max_batch_size: object, x: Any) -> tuple[int, ...]:
    if batch_sizes is False or batch_sizes is None:
        return ()
    if not shape_of(x) or shape_of(x)[0] == 0:
        raise ProdguardUsageError(
            "batch_sizes", batch_sizes, "False for an input without a non-empty batch axis 0"
        )
    if batch_sizes is True:
        largest = check_int("max_batch_size", max_batch_size, min_value=1)
        return tuple(dict.fromkeys((1, 2, largest)))
    return _positive_ints("batch_sizes", batch_sizes, min_value=1)


def _lengths(
    lengths: object, length_axis: object, max_length: object, x: Any
) -> tuple[int, tuple[int, ...]]:
    shape = shape_of(x)
    if lengths is False or lengths is None:
        return -1, ()
    if not shape:
        raise ProdguardUsageError("lengths", lengths, "False for a 0-d input (no axis to resize)")
    axis = check_int("length_axis", length_axis, min_value=-len(shape), max_value=len(shape) - 1)
    if lengths is True:
        current = shape[axis]
        longest = 2 * max(current, 1) if max_length is None else max_length
        longest = check_int("max_length", longest, min_value=1)
        return axis, tuple(dict.fromkeys((1, longest, 0)))
    return axis, _positive_ints("lengths", lengths, min_value=0)


def _positive_ints(field: str, value: object, *, min_value: int) -> tuple[int, ...]:
    accepted = f"True, False or a non-empty list of integers >= {min_value}"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ProdguardUsageError(field, value, accepted)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < min_value:
            raise ProdguardUsageError(field, value, accepted)
    return tuple(dict.fromkeys(value))


def tensor_variations(
    x: Any,
    *,
    noise: bool | None = None,
    norm: str = "linf",
    radius: float = 0.01,
    scaling: bool | None = None,
    min_scale: float = 0.9,
    max_scale: float = 1.1,
    shift: bool | None = None,
    max_shift: float = 0.01,
    extremes: bool | Sequence[str] = False,
    nonfinite: bool | Sequence[str] = False,
    dtypes: bool | Sequence[str] = False,
    batch_sizes: bool | Sequence[int] = False,
    max_batch_size: int = 256,
    lengths: bool | Sequence[int] = False,
    length_axis: int = -1,
    max_length: int | None = None,
    min_steps: int = 0,
    max_steps: int = 2,
) -> st.SearchStrategy[Variation]:
    """Hypothesis strategy of numeric variations of the array or tensor ``x``.

    ``noise`` adds noise within an ``norm`` ball (``"linf"`` or ``"l2"``) of
    ``radius``; ``scaling`` multiplies by a factor in ``[min_scale, max_scale]``;
    ``shift`` adds a constant up to ``max_shift``. These three default to on
    for float inputs. Off by default: ``extremes`` (one element set to zero, a
    large value, the dtype's max/min or tiny), ``nonfinite`` (NaN, +Inf, -Inf
    at one element), ``dtypes`` (cast), ``batch_sizes`` (axis 0 cut or tiled
    to a size; ``True`` means 1, 2 and ``max_batch_size``) and ``lengths``
    (``length_axis`` cut or zero-padded; ``True`` means 1, ``max_length`` and
    0). Magnitudes shrink toward the smallest change and the step count toward
    ``min_steps`` (0: the identity).
    """
    plan = make_tensor_plan(
        x,
        noise=noise,
        norm=norm,
        radius=radius,
        scaling=scaling,
        min_scale=min_scale,
        max_scale=max_scale,
        shift=shift,
        max_shift=max_shift,
        extremes=extremes,
        nonfinite=nonfinite,
        dtypes=dtypes,
        batch_sizes=batch_sizes,
        max_batch_size=max_batch_size,
        lengths=lengths,
        length_axis=length_axis,
        max_length=max_length,
        min_steps=min_steps,
        max_steps=max_steps,
    )
    return plan_strategy(plan, x)
