"""The Python text rules used on a few ASCII values give exactly the Arrow rules' results (features.text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features import network, register, watchlist
from features.text import few_ascii, python_pattern

# Pieces that exercise every rule: titles, honours, legal forms, punctuation, every ASCII space (RE2's \s has no \v),
# newlines before the end (Python's $ would match there), parentheses and commas.
_PIECES = ["mr", "Mrs", "DR", "sir", "jr", "PhD", "obe", "kc", "esq", "ltd", "Limited", "co", "the", "llc", "plc",
           "pty ltd", "sdn bhd", "ooo", "pt", "company", "&", "and", "(x)", "(", ")", ",", "'", "`", ".", "-", "_",
           "John", "smith", "A.", "o'neil", "no", "psc", "PSC", "none", "unknown", "AB1", "2CD", "Flat 2/3", "#",
           " ", "  ", "\t", "\n", "\v", "\f", "\r", "\x1c", "9"]
_ascii_text = st.lists(st.sampled_from(_PIECES), max_size=7).map("".join)
_values = st.lists(st.one_of(_ascii_text, st.none()), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_name_normalisation_in_python_equals_arrow(values: list[str | None]) -> None:
    arrow = pa.array(values, pa.string())
    assert watchlist._normalise_person_arrow(arrow).to_pylist() == [
        watchlist._normalise_person_ascii(v) for v in values]
    assert watchlist._normalise_company_arrow(arrow).to_pylist() == [
        watchlist._normalise_company_ascii(v) for v in values]
    # The dispatching rule takes the Python path here and agrees.
    assert watchlist._normalise_person(arrow).to_pylist() == watchlist._normalise_person_arrow(arrow).to_pylist()


@settings(max_examples=300, deadline=None)
@given(_values, _values)
def test_office_parts_in_python_equal_arrow(postcodes: list[str | None], addresses: list[str | None]) -> None:
    n = min(len(postcodes), len(addresses))
    postcode, address = pd.Series(postcodes[:n], dtype=object), pd.Series(addresses[:n], dtype=object)
    want_pc, want_ad = register._office_parts(postcode, address)
    assert [None if v is pd.NA else v for v in want_pc.tolist()] == [register._postcode_ascii(v) for v in postcode]
    assert [None if v is pd.NA else v for v in want_ad.tolist()] == [register._address_ascii(v) for v in address]


@settings(max_examples=300, deadline=None)
@given(_values)
def test_named_owners_in_python_equal_arrow(values: list[str | None]) -> None:
    ids = pd.Series(values, dtype=object)
    owner = ids.astype("string[pyarrow]").str.strip().str.lower().fillna("")
    want = ((owner.str.len() > 0) & ~owner.str.contains(network._NO_PSC, regex=True)).to_numpy(bool)
    assert few_ascii(ids) == values
    np.testing.assert_array_equal(network._named_owners(ids), want)


def test_python_pattern_rewrites_spaces_and_end_of_text_only() -> None:
    assert python_pattern(r"^a\s+b$").pattern == "^a[\\t\\n\\f\\r ]+b\\Z"
    assert python_pattern(r"[\s_-]$").pattern == "[\\t\\n\\f\\r _-]\\Z"
    assert python_pattern(r"[]$]").pattern == "[]$]"
    assert python_pattern(r"(?:\s+x)+$").search("a x\n") is None  # RE2's $ is the end of the text only
    with pytest.raises(ValueError, match="construct"):
        python_pattern(r"\bx")


def test_few_ascii_takes_few_ascii_or_missing_values_only() -> None:
    assert few_ascii(["a", None, float("nan"), pd.NA]) is not None
    assert few_ascii(pa.array(["a", None])) == ["a", None]
    assert few_ascii(["\u00e9"]) is None
    assert few_ascii([1]) is None
    assert few_ascii(pd.Series(["a"] * 65)) is None
