"""Rules every feature obeys: point in time, no protected characteristics, inputs untouched, catalogue complete."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import features
from features import CATALOGUE, FAMILIES, build, load_families
from riskmodel.contract import TABLES, Dataset, load_dataset
from riskmodel.synth import SynthConfig, generate

AS_OF = dt.date(2021, 6, 30)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("features") / "world"
    generate(out, SynthConfig(businesses=2500, seed=11, chunk_size=2500))
    return load_dataset(out)


def _with_future_rows(ds: Dataset, as_of: dt.date) -> Dataset:
    """Add a copy of every row moved entirely after ``as_of`` (new keys), to every table."""
    tables = {}
    for name, frame in ds.tables.items():
        spec = TABLES[name]
        future = frame.copy()
        dated = [c.name for c in spec.columns if c.dtype.value in ("date", "datetime")]
        earliest = min(frame[c].min() for c in dated)
        # Move the whole copy so that its earliest date falls the day after as_of.
        shift = pd.Timestamp(as_of) - earliest.normalize() + pd.Timedelta(days=1)
        for col in spec.columns:
            if col.dtype.value in ("date", "datetime"):
                future[col.name] = future[col.name] + shift
        for key in spec.key:
            if spec.column(key).dtype.value == "str":
                future[key] = future[key].astype(object).where(future[key].isna(), future[key].astype(str) + "-F")
        if name == "watchlist":
            future["listed_on"] = pd.Timestamp(as_of) + pd.Timedelta(days=30)
        if name in ("officers", "ownership", "accounts", "licences", "contracts", "labels", "transactions"):
            # Future events about existing businesses too: keep the business key, move only the dates.
            number_col = {"licences": "holder_company_number", "contracts": "supplier_company_number"}.get(
                name, "company_number")
            future[number_col] = frame[number_col]
        tables[name] = pd.concat([frame, future], ignore_index=True)
    return Dataset(ds.root, tables, {}, ds.problems, ds.summary, ds.extract_date, ds.source)


def test_rows_dated_after_as_of_change_no_feature(world: Dataset) -> None:
    before = build(world, AS_OF)
    after = build(_with_future_rows(world, AS_OF), AS_OF)
    assert len(before.columns) > 0
    pd.testing.assert_frame_equal(before, after.loc[before.index])


def test_protected_characteristics_change_no_feature(world: Dataset) -> None:
    rng = np.random.default_rng(0)
    tables = dict(world.tables)
    off = tables["officers"].copy()
    off["nationality"] = rng.choice(["British", "Polish", "Chinese", "Nigerian"], len(off))
    off["birth_year"] = pd.array(rng.integers(1930, 2000, len(off)), dtype="Int64")
    tables["officers"] = off
    perturbed = Dataset(world.root, tables, {}, world.problems, world.summary, world.extract_date, world.source)
    pd.testing.assert_frame_equal(build(world, AS_OF), build(perturbed, AS_OF))


@pytest.mark.parametrize("when", ["past", "extract"])
def test_build_does_not_mutate_its_input(world: Dataset, when: str) -> None:
    # On the extract date the views are the data set's own frames (nothing is cut): the sharper case.
    as_of = AS_OF if when == "past" else world.extract_date
    assert as_of is not None
    digest = {n: pd.util.hash_pandas_object(f, index=True).sum() for n, f in world.tables.items()}
    build(world, as_of)
    assert {n: pd.util.hash_pandas_object(f, index=True).sum() for n, f in world.tables.items()} == digest


def test_one_row_per_business_existing_at_as_of(world: Dataset) -> None:
    frame = build(world, AS_OF)
    existing = world["companies"].loc[world["companies"]["date_of_creation"] <= pd.Timestamp(AS_OF),
                                      "company_number"]
    assert frame.index.is_unique
    assert set(frame.index) == set(existing)
    assert all(str(t) == "float64" for t in frame.dtypes)


def test_a_target_set_gives_the_full_builds_rows_for_those_businesses(world: Dataset) -> None:
    full = build(world, AS_OF)
    watchlisted = full.index[(full.filter(like="watchlist_") > 0).any(axis=1)]
    assert len(watchlisted) >= 1  # otherwise the screening of targets only would go untested
    rng = np.random.default_rng(0)
    sample = list(watchlisted[:20]) + list(rng.choice(full.index.to_numpy(), 60, replace=False))
    later = world["companies"].loc[world["companies"]["date_of_creation"] > pd.Timestamp(AS_OF), "company_number"]
    got = features.build_view(features.AsOf(world, AS_OF, targets=[*sample, *later[:3]]))
    want = full.loc[full.index.isin(sample)]
    pd.testing.assert_frame_equal(got, want)


def test_catalogue_entries_are_complete_and_render() -> None:
    load_families()
    assert CATALOGUE, "no feature registered"
    for name, spec in CATALOGUE.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert spec.func.__name__ == name
        assert spec.family in FAMILIES, (name, spec.family)
        assert spec.rationale.strip() and spec.reference.strip() and spec.reason.strip(), name
        assert spec.direction in ("higher-is-riskier", "lower-is-riskier", "either"), name
        assert set(spec.sources) <= set(TABLES), (name, spec.sources)
        text = spec.render(3.0, "30 Jun 2021", 0.97, "takeaways")
        assert "{" not in text and text.strip(), (name, text)


def test_every_feature_function_in_the_family_modules_is_registered() -> None:
    load_families()
    for family in FAMILIES:
        path = Path(features.__file__).parent / f"{family}.py"
        if not path.exists():
            continue
        module = __import__(f"features.{family}", fromlist=["_"])
        for fname, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ != module.__name__ or fname.startswith("_"):
                continue
            params = list(inspect.signature(func).parameters.values())
            if len(params) == 1 and params[0].name == "view":
                assert fname in CATALOGUE, f"{family}.{fname} takes a view but is not in the catalogue"


def test_no_feature_reads_protected_columns_by_name() -> None:
    load_families()
    for spec in CATALOGUE.values():
        if spec.data_quality:
            continue
        source = inspect.getsource(spec.func)
        assert "nationality" not in source and "birth_year" not in source, spec.name


def test_features_command_writes_the_frame_and_lists_the_catalogue(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "world"
    generate(data, SynthConfig(businesses=400, seed=2))
    out = tmp_path / "features.parquet"
    run = [sys.executable, "-m", "riskmodel", "features"]
    done = subprocess.run([*run, str(data), "--as-of", "2022-12-31", "--out", str(out)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    frame = pd.read_parquet(out)
    assert frame.index.name == "company_number"
    assert list(frame.columns) == features.feature_set("all")
    listed = subprocess.run([*run, "--list"], capture_output=True, text=True, check=False,
                            env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
    assert listed.returncode == 0
    assert "share_of_awards_single_bid" in listed.stdout
    bad = subprocess.run([*run, str(data), "--as-of", "31/12/2022", "--out", str(out)], capture_output=True,
                         text=True, check=False)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_feature_order_does_not_depend_on_import_order() -> None:
    import subprocess
    import sys

    code = "import features.transactions, features.accounts, features; print(','.join(features.feature_set('all')))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other.split(",") == features.feature_set("all")


@pytest.fixture(scope="module")
def every_feature(world: Dataset) -> pd.DataFrame:
    return build(world, AS_OF)


def _scrambled(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The table with every row gone, or for ``companies`` (which says which businesses exist) every column but
    the number and creation date shuffled across businesses."""
    if table != "companies":
        return frame.iloc[:0]
    order = np.random.default_rng(3).permutation(len(frame))
    keep = ["company_number", "date_of_creation"]
    moved = frame.drop(columns=keep).iloc[order].reset_index(drop=True)
    return pd.concat([frame[keep].reset_index(drop=True), moved], axis=1)[list(frame.columns)]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_feature_reads_only_the_tables_it_declares(world: Dataset, every_feature: pd.DataFrame,
                                                     table: str) -> None:
    # score_record keeps the reference value of every feature whose declared tables its records leave unchanged,
    # so a table read but not declared would give a supplier a stale value.
    if table not in world.tables:
        pytest.skip(f"the world has no {table} table")
    names = [n for n in every_feature.columns if table not in CATALOGUE[n].sources]
    assert names, table
    scrambled = Dataset(world.root, {**world.tables, table: _scrambled(world.tables[table], table)}, {},
                        world.problems, world.summary, world.extract_date, world.source)
    pd.testing.assert_frame_equal(build(scrambled, AS_OF, names), every_feature[names])
