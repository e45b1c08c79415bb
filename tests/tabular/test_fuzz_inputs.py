"""Fuzzed tables (:mod:`raymlx.testing.tables`): a fit's preparation either works or raises
a one-line ``InputError``, and so does preparing a prediction table that drifts from the
training schema; a few examples go through a whole fit and predict on Ray. Any other
exception (a traceback from pandas, numpy, sklearn, Ray or raymlx) fails the test.
``benchmarks/fuzz_inputs.py`` runs a few hundred examples and counts the outcomes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from raymlx import AutoML
from raymlx.errors import InputError
from raymlx.testing.files import DAMAGE_KINDS, FileExample, csv_files
from raymlx.testing.tables import (
    Example,
    PreparedFit,
    one_line,
    parquet_folder,
    prepare_only,
    prepare_streamed,
    tables,
)

EXAMPLES = 30
FITTED = 4  # of them, the first that prepare go on to a real fit and predict
_fitted: list[int] = []


def _check_error(err: InputError, example: Example) -> None:
    assert one_line(err), (repr(str(err)), example.kinds)


# derandomized: every run checks the same 30 tables, so a failure here is a regression, not
# the luck of a draw (benchmarks/fuzz_inputs.py explores further)
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(example=tables())
def test_hostile_tables_prepare_or_fail_in_one_line(example: Example, ray_session, tmp_path):
    try:
        prepared = prepare_only(example)
    except InputError as err:
        _check_error(err, example)
        return
    try:
        prepared.transform(example.predict)
    except InputError as err:
        _check_error(err, example)
    if len(_fitted) >= FITTED:
        return
    _fitted.append(1)
    aml = AutoML(label=example.label, families=["linear"], num_folds=2, max_models=1,
                 verbosity=0, path=tmp_path / f"fit{len(_fitted)}")
    try:
        aml.fit(example.train)
    except InputError as err:  # e.g. too few rows for the folds, found by the fit itself
        _check_error(err, example)
        return
    try:
        out = aml.predict(example.predict)
    except InputError as err:
        _check_error(err, example)
        return
    assert len(out) == len(example.predict)


STREAMED = 20


# the large-data path on Ray: routing, the streaming pass over the blocks and the pass that
# writes the prepared Parquet, for tables given as a DataFrame and as a Parquet folder
@settings(max_examples=STREAMED, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(example=tables())
def test_hostile_tables_stream_or_fail_in_one_line(example: Example, ray_session, tmp_path):
    for i, train in enumerate((example.train, parquet_folder(example.train, tmp_path / "table"))):
        if train is None:
            continue
        try:
            inputs = prepare_streamed(example, train=train, path=tmp_path / f"fit{i}")
        except InputError as err:
            _check_error(err, example)
            continue
        assert inputs.rows > 0 and inputs.train_files and inputs.holdout_files
        try:
            PreparedFit(inputs).transform(example.predict)  # predict's preprocessing
        except InputError as err:
            _check_error(err, example)


def test_the_generator_covers_every_kind():
    """The strategy draws each kind it lists (so a kind never silently drops out): 600
    derandomized draws, generation only (no shrinking, which can take minutes)."""
    from hypothesis import Phase

    from raymlx.testing.tables import COLUMN_KINDS, DRIFT_KINDS, LABEL_KINDS

    seen: set[str] = set()

    @settings(max_examples=600, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(example=tables())
    def draw(example: Example) -> None:
        seen.update(example.kinds)

    draw()
    wanted = {*COLUMN_KINDS, *LABEL_KINDS, *(f"drift:{d}" for d in DRIFT_KINDS)}
    assert wanted <= seen, sorted(wanted - seen)


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(example=csv_files())
def test_hostile_csv_files_prepare_or_fail_in_one_line(example: FileExample, tmp_path):
    """The same tables written as CSV and damaged (raymlx.testing.files): reading and
    preparing the file works or raises a one-line InputError; no Ray is needed."""
    path = example.write(tmp_path)
    try:
        prepare_only(example.table, train=path)
    except InputError as err:
        assert one_line(err), (repr(str(err)), sorted(example.kinds))


def test_the_file_generator_covers_every_damage():
    from hypothesis import Phase

    seen: set[str] = set()

    @settings(max_examples=300, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(example=csv_files())
    def draw(example: FileExample) -> None:
        seen.update(example.kinds)

    draw()
    assert {f"file:{k}" for k in DAMAGE_KINDS} <= seen
