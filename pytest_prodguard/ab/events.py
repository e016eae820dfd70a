"""Aggregate unit-level rows into an experiment's tables, vectorised end to end.

:meth:`Experiment.from_events <pytest_prodguard.ab.data.Experiment.from_events>`
builds the :class:`~pytest_prodguard.ab.data.Experiment` from what
:func:`experiment_from_events` returns (this module sits below ``data``).

One row per unit: the unit's arm, optional segment and period (e.g. the day
it entered the experiment), its 0/1 conversion columns and numeric value
columns. Categorical columns become integer codes, every (arm, segment,
period) cell is aggregated with ``numpy.bincount`` (counts, sums and sums of
squares around the column mean, for precision), and every statistic the
checklist needs (overall, per segment, cumulative per period) is a sum over
that small cell array. No Python loop touches the rows.

Files are read with pyarrow (``pip install pytest-prodguard[ab]``), only the
named columns; pandas DataFrames and dicts of columns are read in place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_prodguard.ab.arm_stats import Look, Mean, Proportion, Stat
from pytest_prodguard.ab.cuped import fit_cuped
from pytest_prodguard.errors import ProdguardUsageError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.integer[Any]]]

# Integer category columns (days, numeric segment ids) spanning at most this many values
# are used as codes directly, minus their minimum: no sort and no pass over the rows.
_DENSE_INT_SPAN = 100_000
# Above this many (arm, segment, period) cells, gaps in dense integer codes are squeezed out.
_MAX_CELLS = 2_000_000
# Metric columns are processed in runs of rows (arrow's own chunks, joined up to at least
# this many rows, or 4 rows per cell), so temporaries stay small however long the file is.
_BATCH_ROWS = 1 << 16


@dataclass(frozen=True)
class _Codes:
    """A categorical column as integer codes, with one label per code.

    Row ``i`` has code ``codes[i] - offset``. Labels need not be sorted, and
    some may be unused: both are resolved on the small cell array, never on
    the rows. ``keys`` give the natural sort order of the labels.
    """

    codes: IntArray
    labels: list[str]
    keys: list[Any]
    offset: int = 0


@dataclass(frozen=True)
class _Cells:
    """Per-cell sums of one metric, shape (arms, segments, periods)."""

    kind: str
    count: FloatArray
    total: FloatArray
    squares: FloatArray
    shift: float

    def take(self, axis: int, indices: list[int]) -> _Cells:
        """Keep (and reorder) the cells at ``indices`` along ``axis``."""
        return _Cells(
            self.kind,
            np.take(self.count, indices, axis=axis),
            np.take(self.total, indices, axis=axis),
            np.take(self.squares, indices, axis=axis),
            self.shift,
        )


def _column_names(value: str | Sequence[str] | None, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ProdguardUsageError(field, value, "must be a column name or a list of column names")


def _missing_column(name: str, available: Sequence[str], field: str) -> ProdguardUsageError:
    return ProdguardUsageError(
        field, name, f"is not a column; available columns: {list(available)}"
    )


# Loading ---------------------------------------------------------------------------------


def _require_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as error:
        raise ImportError(
            "reading event files needs pyarrow: pip install 'pytest-prodguard[ab]'"
        ) from error
    return pyarrow


def _read_file(path: str, wanted: dict[str, str]) -> Any:
    """Read only the wanted columns of a .parquet or .csv file into a pyarrow Table."""
    _require_pyarrow()
    if not os.path.exists(path):
        raise ProdguardUsageError("source", path, "file not found")
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        available = pq.read_schema(path).names
        _check_columns(wanted, available)
        return pq.read_table(path, columns=list(wanted))
    if lower.endswith((".csv", ".csv.gz")):
        from pyarrow import csv

        reader = csv.open_csv(path)
        available = reader.schema.names
        reader.close()
        _check_columns(wanted, available)
        options = csv.ConvertOptions(include_columns=list(wanted), auto_dict_encode=True)
        return csv.read_csv(path, convert_options=options)
    raise ProdguardUsageError("source", path, "must be a .csv, .csv.gz, .parquet or .pq file")


def _check_columns(wanted: dict[str, str], available: Sequence[str]) -> None:
    for name, field in wanted.items():
        if name not in available:
            raise _missing_column(name, available, field)


def _load(source: Any, wanted: dict[str, str]) -> dict[str, Any]:
    """Return column name -> column object (pyarrow ChunkedArray, pandas Series or array)."""
    if isinstance(source, (str, os.PathLike)):
        table = _read_file(os.fspath(source), wanted)
        return {name: table.column(name) for name in wanted}
    module = type(source).__module__
    if module.startswith("pyarrow") and hasattr(source, "column_names"):
        _check_columns(wanted, source.column_names)
        return {name: source.column(name) for name in wanted}
    if module.startswith("pandas") and hasattr(source, "columns"):
        _check_columns(wanted, [str(column) for column in source.columns])
        return {name: source[name] for name in wanted}
    if isinstance(source, Mapping):
        _check_columns(wanted, [str(key) for key in source])
        return {name: source[name] for name in wanted}
    raise ProdguardUsageError(
        "source",
        type(source).__name__,
        "must be a pandas DataFrame, a pyarrow Table, a dict of columns, or a .csv/.parquet path",
    )


# Columns ---------------------------------------------------------------------------------


def _first_null(column: Any) -> int:
    import pyarrow.compute as pc

    return int(pc.index(pc.is_null(column), True).as_py())


def _missing_values(name: str, field: str, count: int, first: int) -> ProdguardUsageError:
    where = f", first at row {first}"
    return ProdguardUsageError(
        field,
        name,
        f"column has {count} missing/NaN value(s){where}; drop or fill them before the analysis",
    )


def _arrow_to_numpy(column: Any) -> np.ndarray[Any, Any]:
    """A whole arrow column as one numpy array (used for the small category columns)."""
    chunks = [chunk.to_numpy(zero_copy_only=False) for chunk in column.chunks]
    if not chunks:
        return np.empty(0)
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


Batch = tuple[int, np.ndarray[Any, Any]]
"""A run of rows: the first row's index, and the values."""


def _batched(pieces: list[np.ndarray[Any, Any]], cells: int) -> list[Batch]:
    """Group consecutive pieces into batches of at least ``_BATCH_ROWS`` rows.

    Each batch costs one cell-sized array per ``bincount``, so batches hold at
    least four rows per cell.
    """
    target = max(_BATCH_ROWS, 4 * cells)
    batches: list[Batch] = []
    pending: list[np.ndarray[Any, Any]] = []
    start = 0
    for piece in pieces:
        pending.append(piece)
        if sum(len(item) for item in pending) >= target:
            batch = pending[0] if len(pending) == 1 else np.concatenate(pending)
            batches.append((start, batch))
            start += len(batch)
            pending = []
    if pending:
        batches.append((start, pending[0] if len(pending) == 1 else np.concatenate(pending)))
    return batches


def _raw_batches(column: Any, name: str, field: str, cells: int) -> list[Batch]:
    """A column as batches of numpy arrays in its own dtype, refusing arrow nulls.

    Arrow chunks are viewed without copying where possible, so a 10M-row
    column never needs a second full-size copy.
    """
    module = type(column).__module__
    if module.startswith("pyarrow"):
        if column.null_count:
            raise _missing_values(name, field, column.null_count, _first_null(column))
        pieces = [chunk.to_numpy(zero_copy_only=False) for chunk in column.chunks]
    elif module.startswith("pandas"):
        try:
            pieces = [column.to_numpy(dtype=np.float64, na_value=np.nan)]
        except (TypeError, ValueError) as error:
            raise ProdguardUsageError(field, name, "column must be numeric") from error
    else:
        pieces = [np.asarray(column)]
    if any(piece.ndim != 1 for piece in pieces):
        raise ProdguardUsageError(field, name, "column must be one-dimensional")
    return _batched(pieces, cells)


def _numeric_batches(column: Any, name: str, field: str, cells: int) -> list[Batch]:
    """A column as float64 batches, refusing missing values and non-numbers."""
    batches = []
    for start, raw in _raw_batches(column, name, field, cells):
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ProdguardUsageError(field, name, "column must be numeric") from error
        finite = np.isfinite(values)
        if not finite.all():
            bad = ~finite
            raise _missing_values(name, field, int(bad.sum()), start + int(np.argmax(bad)))
        batches.append((start, values))
    return batches


def _success_batches(column: Any, name: str, cells: int) -> list[Batch]:
    """A 0/1 (or boolean) column as boolean masks of the converted units."""
    batches = []
    for start, raw in _raw_batches(column, name, "converted", cells):
        if raw.dtype == np.bool_:
            batches.append((start, raw))
            continue
        if raw.dtype.kind not in "iuf":
            raise ProdguardUsageError("converted", name, "column must hold only 0/1 or booleans")
        if raw.dtype.kind == "f":
            missing = ~np.isfinite(raw)
            if missing.any():
                first = start + int(np.argmax(missing))
                raise _missing_values(name, "converted", int(missing.sum()), first)
        mask = np.not_equal(raw, 0)
        bad = mask & (raw != 1)
        if bad.any():
            first = int(np.argmax(bad))
            raise ProdguardUsageError(
                "converted",
                name,
                f"column must hold only 0/1 or booleans; found {raw[first]!r} at row "
                f"{start + first}",
            )
        batches.append((start, mask))
    return batches


def _joined(batches: list[Batch]) -> FloatArray:
    arrays = [np.asarray(values, dtype=np.float64) for _, values in batches]
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _integer_codes(values: IntArray) -> _Codes:
    if values.size == 0:
        return _Codes(values, [], [])
    low, high = int(values.min()), int(values.max())
    if high - low < _DENSE_INT_SPAN:
        keys = list(range(low, high + 1))
        return _Codes(values, [str(key) for key in keys], keys, offset=low)
    uniques, inverse = np.unique(values, return_inverse=True)
    keys = uniques.tolist()
    return _Codes(inverse, [str(key) for key in keys], keys)


def _compact(coded: _Codes) -> _Codes:
    """Recode a dense integer column without its unused values (one sort of the rows)."""
    uniques, inverse = np.unique(coded.codes, return_inverse=True)
    positions = [int(value) - coded.offset for value in uniques.tolist()]
    return _Codes(
        inverse,
        [coded.labels[position] for position in positions],
        [coded.keys[position] for position in positions],
    )


def _numpy_codes(values: np.ndarray[Any, Any], name: str, field: str) -> _Codes:
    kind = values.dtype.kind
    if kind == "u" and values.dtype.itemsize == 8:
        return _integer_codes(values.astype(np.int64))  # uint64 cannot mix with int64 keys
    if kind in "iu":
        return _integer_codes(values)
    if kind == "b":
        return _integer_codes(values.astype(np.int8))
    if kind == "M":
        missing = np.isnat(values)
        if missing.any():
            raise _missing_values(name, field, int(missing.sum()), int(np.argmax(missing)))
        # Timestamps are grouped by calendar day: one look per day, not per instant.
        coded = _integer_codes(values.astype("datetime64[D]").view(np.int64))
        labels = [str(np.datetime64(int(key), "D")) for key in coded.keys]
        return _Codes(coded.codes, labels, coded.keys, coded.offset)
    if kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            raise _missing_values(name, field, int(bad.sum()), int(np.argmax(bad)))
        uniques, inverse = np.unique(values, return_inverse=True)
        keys = uniques.tolist()
        return _Codes(inverse, [f"{key:g}" for key in keys], keys)
    objects = values.astype(object)
    missing = np.array([item is None or item != item for item in objects.tolist()], dtype=bool)
    if missing.any():
        raise _missing_values(name, field, int(missing.sum()), int(np.argmax(missing)))
    uniques, inverse = np.unique(objects.astype(str), return_inverse=True)
    keys = uniques.tolist()
    return _Codes(inverse, [str(key) for key in keys], keys)


def _dictionary_codes(indices: IntArray, dictionary: list[Any]) -> _Codes:
    return _Codes(indices, [str(item) for item in dictionary], list(dictionary))


def _arrow_codes(column: Any, name: str, field: str) -> _Codes:
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        raise _missing_values(name, field, column.null_count, _first_null(column))
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = pc.dictionary_encode(column)
        kind = column.type
    if not pa.types.is_dictionary(kind):
        return _numpy_codes(_arrow_to_numpy(column), name, field)
    unified = column.unify_dictionaries()
    if unified.num_chunks == 0:
        return _Codes(np.empty(0, dtype=np.int64), [], [])
    indices = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in unified.chunks]
    codes = indices[0] if len(indices) == 1 else np.concatenate(indices)
    return _dictionary_codes(codes, unified.chunk(0).dictionary.to_pylist())


def _pandas_codes(column: Any, name: str, field: str) -> _Codes:
    import pandas as pd

    missing = column.isna().to_numpy()
    if missing.any():
        raise _missing_values(name, field, int(missing.sum()), int(np.argmax(missing)))
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _dictionary_codes(column.cat.codes.to_numpy(), list(column.cat.categories))
    if column.dtype.kind in "iubfM":
        numpy_dtype = getattr(column.dtype, "numpy_dtype", None)  # nullable Int64, boolean
        return _numpy_codes(column.to_numpy(dtype=numpy_dtype), name, field)
    codes, uniques = pd.factorize(column, sort=False)
    return _dictionary_codes(codes, list(uniques))


def _categorical(column: Any, name: str, field: str) -> _Codes:
    module = type(column).__module__
    if module.startswith("pyarrow"):
        return _arrow_codes(column, name, field)
    if module.startswith("pandas"):
        return _pandas_codes(column, name, field)
    array = np.asarray(column)
    if array.ndim != 1:
        raise ProdguardUsageError(field, name, "column must be one-dimensional")
    return _numpy_codes(array, name, field)


# Aggregation -----------------------------------------------------------------------------


def _shape(coded: list[_Codes | None]) -> tuple[int, int, int]:
    sizes = [len(column.labels) if column is not None else 1 for column in coded]
    return sizes[0], sizes[1], sizes[2]


def _cell_keys(columns: list[_Codes | None], shape: tuple[int, int, int]) -> IntArray:
    """Each row's cell, ((arm * S) + segment) * P + period, built in place in one array."""
    key: IntArray = columns[0].codes.astype(np.int64) if columns[0] else np.empty(0, np.int64)
    first = columns[0]
    if first is not None and first.offset:
        key -= first.offset
    for axis, coded in ((1, columns[1]), (2, columns[2])):
        if coded is None:
            continue
        key *= shape[axis]
        key += coded.codes
        if coded.offset:
            key -= coded.offset
    return key


def _rate_cells(batches: list[Batch], key: IntArray, count: FloatArray) -> _Cells:
    """Per-cell successes: a count over the (few) converted rows only."""
    successes = np.zeros(count.size)
    for start, mask in batches:
        successes += np.bincount(key[start : start + len(mask)][mask], minlength=count.size)
    return _Cells("rate", count, successes.reshape(count.shape), np.zeros(count.shape), 0.0)


def _mean_cells(batches: list[Batch], key: IntArray, count: FloatArray) -> _Cells:
    """Per-cell sums and sums of squares around the overall mean (for precision)."""
    rows = sum(len(values) for _, values in batches)
    shift = float(sum(float(values.sum()) for _, values in batches) / rows) if rows else 0.0
    total, squares = np.zeros(count.size), np.zeros(count.size)
    for start, values in batches:
        cells = key[start : start + len(values)]
        centred = values - shift
        total += np.bincount(cells, weights=centred, minlength=count.size)
        np.square(centred, out=centred)
        squares += np.bincount(cells, weights=centred, minlength=count.size)
    return _Cells("mean", count, total.reshape(count.shape), squares.reshape(count.shape), shift)


def _stat(cells: _Cells, index: tuple[Any, ...], axes: tuple[int, ...]) -> Stat:
    """Statistic of the cells summed over ``axes`` and then picked at ``index``."""
    n = float(cells.count.sum(axis=axes)[index])
    total = float(cells.total.sum(axis=axes)[index])
    if cells.kind == "rate":
        return Proportion(round(total), round(n))
    squares = float(cells.squares.sum(axis=axes)[index])
    mean_offset = total / n
    variance = max(squares - total * mean_offset, 0.0) / (n - 1) if n > 1 else 0.0
    return Mean(round(n), cells.shift + mean_offset, float(np.sqrt(variance)))


def _cumulative(cells: _Cells) -> _Cells:
    return _Cells(
        cells.kind,
        np.cumsum(cells.count, axis=2),
        np.cumsum(cells.total, axis=2),
        np.cumsum(cells.squares, axis=2),
        cells.shift,
    )


def _used_in_order(count: FloatArray, axis: int, coded: _Codes | None) -> list[int]:
    """Indices along ``axis`` that hold rows, sorted by their labels' natural order."""
    if coded is None:
        return [0]
    others = tuple(other for other in range(3) if other != axis)
    used = np.flatnonzero(count.sum(axis=others)).tolist()
    return sorted(used, key=lambda index: coded.keys[index])


def _arm_order(labels: list[str], control: str | None, variant: str) -> list[str]:
    if control is None:
        if "control" not in labels:
            raise ProdguardUsageError(
                "control", control, f"name the control arm; column {variant!r} holds {labels}"
            )
        control = "control"
    if control not in labels:
        raise ProdguardUsageError("control", control, f"must be one of the arms {labels}")
    if len(labels) < 2:
        raise ProdguardUsageError(
            "variant", variant, f"column holds a single arm {labels}; an experiment needs two"
        )
    return [control, *[label for label in labels if label != control]]


def experiment_from_events(
    source: object,
    *,
    variant: str,
    converted: str | Sequence[str] | None,
    value: str | Sequence[str] | None,
    segment: str | None,
    period: str | None,
    control: str | None,
    primary: str | None,
    cuped: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The keyword arguments of ``Experiment(...)`` for :meth:`Experiment.from_events`."""
    rate_columns = _column_names(converted, "converted")
    value_columns = _column_names(value, "value")
    metrics = rate_columns + value_columns
    if not metrics:
        raise ProdguardUsageError(
            "converted/value", None, "name at least one metric column (converted= or value=)"
        )
    covariates = dict(cuped or {})
    for metric in covariates:
        if metric not in metrics:
            raise ProdguardUsageError("cuped", metric, f"must be one of the metrics {metrics}")
    wanted = {variant: "variant"}
    for name in rate_columns:
        wanted.setdefault(name, "converted")
    for name in value_columns:
        wanted.setdefault(name, "value")
    for optional, field in ((segment, "segment"), (period, "period")):
        if optional is not None:
            wanted.setdefault(optional, field)
    for covariate in covariates.values():
        wanted.setdefault(covariate, "cuped")
    columns = _load(source, wanted)

    rows = len(columns[variant])
    for name, column in columns.items():
        if len(column) != rows:
            raise ProdguardUsageError(wanted[name], name, f"column length must be {rows} rows")
    coded = [
        _categorical(columns[variant], variant, "variant"),
        _categorical(columns[segment], segment, "segment") if segment else None,
        _categorical(columns[period], period, "period") if period else None,
    ]
    shape = _shape(coded)
    while shape[0] * shape[1] * shape[2] > _MAX_CELLS:
        dense = [
            (len(c.labels), axis) for axis, c in enumerate(coded) if c is not None and c.offset
        ]
        if not dense:
            break
        widest = coded[max(dense)[1]]
        assert widest is not None
        coded[max(dense)[1]] = _compact(widest)
        shape = _shape(coded)
    key = _cell_keys(coded, shape)
    count = np.bincount(key, minlength=shape[0] * shape[1] * shape[2]).astype(np.float64)
    count = count.reshape(shape)

    notes: list[str] = []
    cells: dict[str, _Cells] = {}
    for metric in metrics:
        if metric in rate_columns:
            batches = _success_batches(columns[metric], metric, count.size)
            if metric not in covariates:
                cells[metric] = _rate_cells(batches, key, count)
                continue
        else:
            batches = _numeric_batches(columns[metric], metric, "value", count.size)
        if metric in covariates:
            values = _joined(batches)
            covariate = covariates[metric]
            pre = _joined(_numeric_batches(columns[covariate], covariate, "cuped", count.size))
            fit = fit_cuped(values, pre, name=f"cuped[{metric!r}]")
            batches = [(0, fit.adjust(values, pre))]
            notes.append(
                f"{metric!r} is CUPED-adjusted with pre-period {covariates[metric]!r}: "
                f"theta {fit.theta:.4g}, variance reduced by {fit.variance_reduction:.1%}"
            )
        cells[metric] = _mean_cells(batches, key, count)

    # Drop unused labels and sort the rest, on the small cell array.
    arm_codes = coded[0]
    assert arm_codes is not None
    by_label = {arm_codes.labels[index]: index for index in _used_in_order(count, 0, arm_codes)}
    order = _arm_order(list(by_label), control, variant)
    arm_index = [by_label[arm] for arm in order]
    picks = [arm_index, _used_in_order(count, 1, coded[1]), _used_in_order(count, 2, coded[2])]
    for axis, indices in enumerate(picks):
        cells = {metric: data.take(axis, indices) for metric, data in cells.items()}
    segment_labels = [coded[1].labels[i] for i in picks[1]] if coded[1] else None
    period_labels = [coded[2].labels[i] for i in picks[2]] if coded[2] else None
    return _build(
        cells,
        order,
        segment_labels,
        period_labels,
        primary or metrics[0],
        tuple(notes),
        segment or "",
    )


def _build(
    cells: Mapping[str, _Cells],
    arms: list[str],
    segments: list[str] | None,
    periods: list[str] | None,
    primary: str,
    notes: tuple[str, ...],
    segment_column: str,
) -> dict[str, Any]:
    first = next(iter(cells.values()))
    units = {arm: round(float(first.count[index].sum())) for index, arm in enumerate(arms)}
    overall = {
        metric: {arm: _stat(data, (index,), (1, 2)) for index, arm in enumerate(arms)}
        for metric, data in cells.items()
    }
    segment_tables: dict[str, dict[str, dict[str, Stat]]] = {}
    if segments is not None:
        per_segment = first.count.sum(axis=2)
        for s, label in enumerate(segments):
            empty = [arm for index, arm in enumerate(arms) if per_segment[index, s] == 0]
            if empty:
                raise ProdguardUsageError(
                    "segment",
                    label,
                    f"has no units in arm(s) {empty} (column {segment_column!r}); every segment "
                    "needs every arm: drop or merge that segment",
                )
            segment_tables[label] = {
                metric: {arm: _stat(data, (index, s), (2,)) for index, arm in enumerate(arms)}
                for metric, data in cells.items()
            }
    looks: list[Look] = []
    if periods is not None:
        running = {metric: _cumulative(data) for metric, data in cells.items()}
        so_far = np.cumsum(first.count.sum(axis=1), axis=1)
        for p, label in enumerate(periods):
            if (so_far[:, p] == 0).any():
                continue
            looks.append(
                Look(
                    label,
                    {
                        metric: {
                            arm: _stat(data, (index, p), (1,)) for index, arm in enumerate(arms)
                        }
                        for metric, data in running.items()
                    },
                )
            )
    return {
        "metrics": overall,
        "control": arms[0],
        "primary": primary,
        "segments": segment_tables,
        "looks": tuple(looks),
        "units": units,
        "notes": notes,
    }
