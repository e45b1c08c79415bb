"""What the preprocessing needs to know about a column, learnt block by block.

A :class:`ColumnSummary` holds, for one column of one block of rows, the counts the column
plan of :class:`~raymlx.tabular.preprocess.TablePreprocessor` decides on: rows and missing
values, the kind of its dtype, for numbers their range, infinities and, for integers, their
power sums modulo a prime (which tell whether the values are the integers low..high, each
once, in any order and across any blocks: row numbers), for text the counts of each value
(capped), how many parse as numbers and as dates. Summaries of consecutive blocks merge
exactly, except
that a text column with more than :data:`MAX_TRACKED` distinct values keeps the counts of
the most frequent ones only (a heavy-hitters approximation; below that bound the merged
summary equals the summary of the concatenated blocks). So the in-memory path summarises
the whole frame as one block, and a Ray Dataset is summarised on the workers that hold its
blocks, with only the summaries coming to the driver.

Why by hand: the rules are raymlx's own (see ``preprocess``), and Ray Data's aggregations
give no per-column value counts with a cap or run checks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raymlx.tabular.data import is_integer_valued

MAX_TRACKED = 20_000  # distinct text values counted per column before only the top are kept
PRIME = 2_147_483_647  # 2**31 - 1: x mod PRIME squared fits in an int64
DATE_SAMPLE = 500  # text values of a block tried as dates to decide if the column holds dates


@dataclass
class ColumnSummary:
    name: str
    kind: str  # "bool", "datetime", "numeric", "categorical" (pandas category), "text"
    rows: int = 0
    nulls: int = 0
    low: float = np.inf  # numeric and datetime (as ns) only
    high: float = -np.inf
    infinite: int = 0
    integral: bool = False  # every value an integer (no missing, none beyond 2**62)
    power_sums: tuple[int, int, int] = (0, 0, 0)  # sums of x, x**2, x**3 mod PRIME
    counts: Counter = field(default_factory=Counter)  # text, categorical and bool values
    overflow: bool = False  # more than MAX_TRACKED distinct values were seen
    numeric_like: int = 0  # text values that parse as numbers
    date_tried: int = 0
    date_parsed: int = 0
    has_hour: bool = False

    @property
    def non_null(self) -> int:
        return self.rows - self.nulls

    @property
    def distinct(self) -> int:
        """Distinct non-missing values (text, categorical, bool; exact unless overflow)."""
        return len(self.counts)

    def merge(self, other: ColumnSummary) -> ColumnSummary:
        """This summary and the next block's, as one (kinds must agree; an empty block,
        whose dtype may be anything, counts for nothing)."""
        if other.rows == 0:
            return self
        if self.rows == 0:
            return other
        if other.kind != self.kind:
            from raymlx.errors import InputError

            raise InputError(f"column {self.name!r} holds {self.kind} values in one part of "
                             f"the table and {other.kind} values in another")
        sums = tuple((a + b) % PRIME for a, b in zip(self.power_sums, other.power_sums))
        counts = self.counts + other.counts if self.counts or other.counts else Counter()
        counts, overflow = capped(counts, self.overflow or other.overflow)
        return ColumnSummary(
            self.name, self.kind, self.rows + other.rows, self.nulls + other.nulls,
            min(self.low, other.low), max(self.high, other.high),
            self.infinite + other.infinite, self.integral and other.integral,
            sums, counts, overflow,  # type: ignore[arg-type]
            self.numeric_like + other.numeric_like, self.date_tried + other.date_tried,
            self.date_parsed + other.date_parsed, self.has_hour or other.has_hour)

    def is_row_number(self) -> bool:
        """Whether the values are the integers low..high, each once, in any order (row
        numbers): as many values as the range holds, and their power sums those of the
        range. This is the sort-and-step check of a whole column without the sort; two
        different sets of integers pass it only when they agree on three sums modulo a
        31-bit prime, which real columns do not."""
        if not self.integral or self.nulls or self.rows < 2:
            return False
        low, high = int(self.low), int(self.high)
        if high - low + 1 != self.rows:
            return False
        want = tuple((_faulhaber(k, high) - _faulhaber(k, low - 1)) % PRIME for k in (1, 2, 3))
        return want == self.power_sums

    def is_constant(self) -> bool:
        if self.nulls:
            return False
        if self.kind in ("numeric", "datetime"):
            return self.low == self.high
        return not self.overflow and self.distinct == 1

    def is_identifier(self) -> bool:
        """Every row has its own text value (approximate once ``overflow``: no tracked
        value repeats)."""
        if self.nulls:
            return False
        if self.overflow:
            return max(self.counts.values(), default=0) <= 1
        return self.distinct == self.rows


def capped(counts: Counter, overflow: bool) -> tuple[Counter, bool]:
    """``counts`` cut to its :data:`MAX_TRACKED` most frequent values, and whether any
    value was ever cut."""
    if len(counts) <= MAX_TRACKED:
        return counts, overflow
    return Counter(dict(counts.most_common(MAX_TRACKED))), True


def summarise(name: str, col: pd.Series) -> ColumnSummary:
    """The summary of one block of a column."""
    nulls = int(col.isna().sum())
    if pd.api.types.is_bool_dtype(col):
        return ColumnSummary(name, "bool", len(col), nulls,
                             counts=_counted(col.dropna().astype(str)))
    if pd.api.types.is_datetime64_any_dtype(col):
        d = pd.to_datetime(col)
        ns = d.dropna().astype("int64")
        return ColumnSummary(name, "datetime", len(col), nulls,
                             float(ns.min()) if len(ns) else np.inf,
                             float(ns.max()) if len(ns) else -np.inf,
                             has_hour=bool(d.dt.hour.fillna(0).any()))
    if pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = v[np.isfinite(v)]
        s = ColumnSummary(name, "numeric", len(col), nulls,
                          float(finite.min()) if len(finite) else np.inf,
                          float(finite.max()) if len(finite) else -np.inf,
                          infinite=int(np.isinf(v).sum()))
        if nulls == 0 and is_integer_valued(col) and (len(v) == 0 or np.abs(v).max() < 2.0**62):
            m = np.mod(v.astype(np.int64), PRIME)
            m2 = m * m % PRIME
            s.integral = True
            s.power_sums = (int(m.sum() % PRIME), int(m2.sum() % PRIME),
                            int((m2 * m % PRIME).sum() % PRIME))
        return s
    non_null = col.dropna()
    as_text = non_null.astype(str)
    if isinstance(col.dtype, pd.CategoricalDtype):
        return ColumnSummary(name, "categorical", len(col), nulls, counts=_counted(as_text))
    numeric = pd.to_numeric(as_text.str.strip(), errors="coerce")
    s = ColumnSummary(name, "text", len(col), nulls, counts=_counted(as_text),
                      numeric_like=int(numeric.notna().sum()))
    s.counts, s.overflow = capped(s.counts, False)
    head = as_text.iloc[:DATE_SAMPLE]
    # a date has digits: without them pandas reads month or weekday names ("may", "mon")
    # as days of the current year, features that would change with the day of prediction
    sample = parse_dates(head) if head.str.contains(r"\d").mean() >= 0.95 else None
    if sample is not None:
        s.date_tried, s.date_parsed = len(sample), int(sample.notna().sum())
        if s.date_parsed >= 0.95 * s.date_tried:  # only a date-looking block is parsed whole
            whole = parse_dates(col.astype("string"))
            s.has_hour = whole is not None and bool(whole.dt.hour.fillna(0).any())
    elif len(as_text):
        s.date_tried = min(len(as_text), DATE_SAMPLE)
    return s


def summarise_frame(X: pd.DataFrame) -> dict[str, ColumnSummary]:
    return {str(name): summarise(str(name), X[name]) for name in X.columns}


def merge_frames(parts: list[dict[str, ColumnSummary]]) -> dict[str, ColumnSummary]:
    """The summaries of consecutive blocks (in row order), merged column by column."""
    out = dict(parts[0])
    for part in parts[1:]:
        out = {name: s.merge(part[name]) for name, s in out.items()}
    return out


def parse_dates(text: pd.Series) -> pd.Series | None:
    """Dates parsed from strings, or None when they do not look like dates."""
    sample = text.dropna()
    if sample.empty or sample.str.fullmatch(r"[-+]?\d+(\.\d+)?").all():
        return None
    try:
        return pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError, OverflowError):
        return None


def _counted(values: pd.Series) -> Counter:
    """Counts of each value, most frequent first, ties in order of first appearance (as
    ``pandas.Series.value_counts`` ranks them)."""
    return Counter(dict(values.value_counts(sort=True).items()))


def _faulhaber(k: int, n: int) -> int:
    """1**k + ... + n**k as the polynomial in n, which holds for every integer n (so a
    range's sum is F(high) - F(low - 1), negative bounds included)."""
    if k == 1:
        return n * (n + 1) // 2
    if k == 2:
        return n * (n + 1) * (2 * n + 1) // 6
    return (n * (n + 1) // 2) ** 2
