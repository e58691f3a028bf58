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
