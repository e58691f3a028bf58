"""Features built chunk by chunk on neighbourhoods equal the full build (the base of a flat-memory batch job)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import features
from features.pit import AsOf
from features.register import office_parts
from riskmodel.contract import load_dataset
from riskmodel.scoring.neighbourhood import Neighbourhood


def test_features_of_chunks_equal_the_full_build(world: Path) -> None:
    dataset = load_dataset(world)
    as_of = dataset.extract_date
    assert as_of is not None
    view = AsOf(dataset, as_of)
    full = features.build_view(view, "all")
    neighbourhood = Neighbourhood(view)
    comp = dataset.tables["companies"]
    postcode, address = office_parts(comp["registered_office_postcode"], comp["registered_office_address"])
    office = postcode + "|" + address
    crowded = comp.loc[office == office.value_counts().index[0], "company_number"]
    contracts = dataset.tables["contracts"]
    buyer = contracts["buyer_id"].value_counts().index[0]
    suppliers = contracts.loc[contracts["buyer_id"] == buyer, "supplier_company_number"].dropna()
    rng = np.random.default_rng(11)
    linked = full.index[full["network_degree"].to_numpy() > 0]
    chunks = [list(full.index[:1]), list(rng.choice(full.index, 300, replace=False)),
              [*crowded[crowded.isin(full.index)].iloc[:5], *suppliers[suppliers.isin(full.index)].iloc[:5],
               *rng.choice(linked, 20, replace=False)]]
    for numbers in chunks:
        numbers = list(dict.fromkeys(str(n) for n in numbers))
        assert len(neighbourhood.chunk(numbers).tables["companies"]) < len(comp)  # a neighbourhood, not everything
        X = neighbourhood.features(numbers, "all")
        pd.testing.assert_frame_equal(X.sort_index(), full.loc[numbers].sort_index(), check_exact=True)


def test_features_on_a_staged_data_set_equal_the_full_build(world: Path, tmp_path: Path) -> None:
    # The batch job's path: tables staged on disk with only their key columns in memory, features built chunk by
    # chunk from rows read back by position, at the extract date and a year before it.
    from riskmodel.contract.staged import INDEX_COLUMNS, stage_dataset

    dataset = load_dataset(world)
    staged = stage_dataset(world, tmp_path / "staged")
    assert staged.dataset.extract_date == dataset.extract_date is not None
    for table, frame in dataset.tables.items():
        kept = INDEX_COLUMNS[table]
        assert list(staged.dataset.tables[table].columns) == (list(frame.columns) if kept is None else list(kept))
        rows = np.arange(len(frame))[::7]
        pd.testing.assert_frame_equal(staged.take(table, rows), frame.iloc[rows], check_exact=True)
        last = list(frame.columns[-1:])
        pd.testing.assert_frame_equal(staged.take(table, rows, columns=last),
                                      frame.iloc[rows][last].reset_index(drop=True), check_exact=True)
    for as_of in (dataset.extract_date, dataset.extract_date.replace(year=dataset.extract_date.year - 1)):
        full = features.build(dataset, as_of, "all")
        view = AsOf(staged.dataset, as_of)
        neighbourhood = Neighbourhood(view, take=staged.take)
        numbers = list(view.index.sort_values())
        X = pd.concat([neighbourhood.features(numbers[i:i + 2_500], "all") for i in range(0, len(numbers), 2_500)])
        pd.testing.assert_frame_equal(X.sort_index(), full.sort_index(), check_exact=True)
