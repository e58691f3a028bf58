"""The OCDS importer, end to end through the shared import pipeline (small hand-written OCDS 1.1 files)."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from riskmodel.importers import import_sources, ocds

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "uk_contracts_finder_ocds"


# ------------------------------------------------------------------------------------------------- helpers


def _release(ocid: str = "ocds-test-001", rid: str = "r1", *, method: str | None = "open",
             awards: list[dict[str, Any]] | None = None, parties: list[dict[str, Any]] | None = None,
             **extra: Any) -> dict[str, Any]:
    """A minimal award release: one buyer, one supplier (no identifier), one GBP award."""
    tender: dict[str, Any] = {"id": "t1", "value": {"amount": 100000, "currency": "GBP"}}
    if method is not None:
        tender["procurementMethod"] = method
    release = {
        "ocid": ocid, "id": rid, "date": "2024-03-01T10:00:00Z", "tag": ["award"],
        "buyer": {"id": "B1", "name": "Example Council"},
        "parties": parties if parties is not None else [
            {"id": "B1", "name": "Example Council", "roles": ["buyer"]},
            {"id": "S1", "name": "Supplier One Ltd", "roles": ["supplier"]},
        ],
        "tender": tender,
        "awards": awards if awards is not None else [
            {"id": f"{ocid}-a1", "status": "active", "date": "2024-02-20T00:00:00Z",
             "value": {"amount": 90000, "currency": "GBP"}, "suppliers": [{"id": "S1", "name": "Supplier One Ltd"}]},
        ],
    }
    release.update(extra)
    return release


def _import(tmp_path: Path, files: dict[str, str | bytes]) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Write the files, import them, check the manifest's promises; return contracts, manifest, quarantine."""
    sources = []
    for name, content in files.items():
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        sources.append(path)
    out = tmp_path / "out"
    result = import_sources("ocds", sources, out)
    manifest = json.loads((out / "imports" / "ocds" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    _check_identity(manifest)
    quarantine = pd.read_csv(out / "imports" / "ocds" / "quarantine.csv", dtype=str, keep_default_na=False)
    contracts = pd.read_parquet(out / "contracts.parquet") if (out / "contracts.parquet").exists() else pd.DataFrame()
    return contracts, manifest, quarantine


def _check_identity(manifest: dict[str, Any]) -> None:
    """records in = mapped + quarantined (overall and per file); rows mapped = written + quarantined."""
    assert manifest["records_in"] == manifest["records_mapped"] + manifest["records_quarantined"]
    for counts in manifest["sources"].values():
        assert counts.get("records_in", 0) == counts.get("records_mapped", 0) + counts.get("records_quarantined", 0)
    for counts in manifest["tables"].values():
        assert counts["rows_mapped"] == counts["rows_written"] + counts["rows_quarantined"] + counts["rows_rejected"]


def _reasons(quarantine: pd.DataFrame) -> dict[str, str]:
    return dict(zip(quarantine["record"], quarantine["reasons"], strict=True))


# ------------------------------------------------------------------------------------------------- tests


def test_release_package_maps_award_x_supplier_rows(tmp_path: Path) -> None:
    release = _release(
        "ocds-pkg-1", "rel-1",
        parties=[
            {"id": "P0", "name": "Example Council", "roles": ["buyer"]},
            {"id": "P1", "name": "Alpha Ltd", "roles": ["supplier"],
             "identifier": {"scheme": "GB-COH", "id": "1234567"}},  # leading zero lost: padded
            {"id": "P2", "name": "Beta Ltd", "roles": ["supplier"], "identifier": {"scheme": "GB-CHC", "id": "2222"},
             "additionalIdentifiers": [{"scheme": "GB-COH", "id": " sc123456 "}]},
            {"id": "P3", "name": "Gamma Trust", "roles": ["supplier"],
             "identifier": {"scheme": "GB-CHC", "id": "1100000"}},  # a charity number is not a company number
        ],
        awards=[
            {"id": "A1", "status": "active", "date": "2021-05-04T09:00:00+01:00",
             "value": {"amount": 250000.5, "currency": "GBP"},
             "suppliers": [{"id": "P1", "name": "Alpha Ltd"}, {"id": "P2", "name": "Beta Ltd"}]},
            {"id": "A2", "status": "active", "date": "2021-05-10", "value": {"amount": "12,000", "currency": "GBP"},
             "suppliers": [{"id": "P3"}]},  # the name comes from the party
            {"id": "A3", "status": "cancelled", "date": "2021-05-11", "value": {"amount": 1, "currency": "GBP"},
             "suppliers": [{"id": "P1", "name": "Alpha Ltd"}]},
        ],
        tender={"id": "T", "procurementMethod": "selective", "mainProcurementCategory": "works",
                "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "45000000"}}],
                "tenderPeriod": {"startDate": "2021-01-10T12:00:00Z", "endDate": "2021-02-15T12:00:00Z"},
                "numberOfTenderers": 4, "value": {"amount": 300000, "currency": "GBP"}},
    )
    package = {"uri": "https://example.org/p", "publishedDate": "2021-06-01T00:00:00Z", "releases": [release]}
    contracts, manifest, quarantine = _import(tmp_path, {"package.json": json.dumps(package)})

    assert manifest["sources"]["package.json"] == {"records_in": 1, "records_mapped": 1,
                                                   "rows_mapped:contracts": 3}
    assert manifest["tables"]["contracts"] == {"rows_mapped": 3, "rows_written": 3, "rows_quarantined": 0,
                                               "rows_rejected": 0}
    assert quarantine.empty
    got = contracts.sort_values(["award_id", "supplier_name"]).reset_index(drop=True)
    assert got["award_id"].tolist() == ["A1", "A1", "A2"]
    assert got["supplier_name"].tolist() == ["Alpha Ltd", "Beta Ltd", "Gamma Trust"]
    assert got["supplier_company_number"].tolist() == ["01234567", "SC123456", None]
    assert got["award_value"].tolist() == [250000.5, 250000.5, 12000.0]
    assert got["award_date"].tolist() == [dt.date(2021, 5, 4), dt.date(2021, 5, 4), dt.date(2021, 5, 10)]
    common = got.iloc[0]
    assert common["ocid"] == "ocds-pkg-1"
    assert (common["buyer_id"], common["buyer_name"]) == ("B1", "Example Council")
    assert (common["procurement_method"], common["main_category"], common["cpv"]) == ("selective", "works",
                                                                                       "45000000")
    assert (common["tender_published_on"], common["tender_deadline"]) == (dt.date(2021, 1, 10), dt.date(2021, 2, 15))
    assert (common["number_of_tenderers"], common["estimated_value"]) == (4, 300000.0)
    # No contract: nothing is known about amendments.
    assert got[["final_value", "modifications", "contract_start", "contract_end"]].isna().all().all()


def test_buyer_from_parties_and_company_numbers_never_invented(tmp_path: Path) -> None:
    release = _release(
        "ocds-buyer-1",
        parties=[
            {"id": "X9", "name": "County Council", "roles": ["buyer"],
             "identifier": {"scheme": "GB-GOR", "id": "E1"}},
            {"id": "S1", "name": "Odd Ltd", "roles": ["supplier"],
             "identifier": {"scheme": "GB-COH", "id": "987654321"}},  # 9 digits: not a Companies House number
            {"id": "S2", "name": "Two Numbers Ltd", "roles": ["supplier"],
             "identifier": {"scheme": "GB-COH", "id": "1"}, "additionalIdentifiers": [{"scheme": "GB-COH", "id": "2"}]},
        ],
        awards=[{"id": "A1", "date": "2024-01-02", "value": {"amount": 5}, "suppliers": [{"id": "S1"}, {"id": "S2"}]}],
    )
    del release["buyer"]
    contracts, manifest, _ = _import(tmp_path, {"release.json": json.dumps(release)})

    assert contracts["buyer_id"].tolist() == ["GB-GOR-E1", "GB-GOR-E1"]
    assert contracts["buyer_name"].tolist() == ["County Council", "County Council"]
    assert contracts["supplier_company_number"].isna().all()
    assert "release.json: 1 GB-COH identifiers that are not Companies House numbers left empty (e.g. '987654321')" \
        in manifest["warnings"]
    assert any("conflicting GB-COH identifiers" in w and "00000001, 00000002" in w for w in manifest["warnings"])
    assert "release.json: 1 award values without a currency, read as GBP (e.g. ocds-buyer-1)" in manifest["warnings"]


def test_record_package_reads_compiled_releases(tmp_path: Path) -> None:
    compiled = _release("ocds-rec-1", "ocds-rec-1-2024")
    package = {"records": [
        {"ocid": "ocds-rec-1", "releases": [{"url": "https://example.org/r1", "date": "2024-03-01"}],
         "compiledRelease": compiled},
        {"ocid": "ocds-rec-2", "releases": [_release("ocds-rec-2", "x"), _release("ocds-rec-2", "y")]},
    ]}
    contracts, manifest, quarantine = _import(tmp_path, {"records.json": json.dumps(package)})

    assert contracts["ocid"].tolist() == ["ocds-rec-1"]
    assert manifest["sources"]["records.json"]["records_mapped"] == 1
    assert _reasons(quarantine) == {"record ocds-rec-2 (document, record 2)": (
        "record has no compiledRelease (it lists 2 releases; merging them into one is not done by this importer)")}


def test_json_lines_of_releases_and_packages(tmp_path: Path) -> None:
    lines = [
        json.dumps(_release("ocds-l-1", "r1")),
        "",
        json.dumps({"releases": [_release("ocds-l-2", "r2"), _release("ocds-l-3", "r3")]}),
        json.dumps(_release("ocds-l-4", "r4", awards=[], tag=["planning"])),
        json.dumps({"statementID": "x", "statementType": "entityStatement"}),  # not OCDS (a BODS statement)
    ]
    contracts, manifest, quarantine = _import(tmp_path, {"releases.jsonl": "\n".join(lines) + "\n"})

    assert sorted(contracts["ocid"]) == ["ocds-l-1", "ocds-l-2", "ocds-l-3"]
    assert manifest["sources"]["releases.jsonl"] == {"records_in": 5, "records_mapped": 3, "records_quarantined": 2,
                                                     "rows_mapped:contracts": 3}
    assert _reasons(quarantine) == {
        "release r4 (line 4)": "release has no awards (tag: planning)",
        "line 5": "line 5 is not an OCDS release, record or package (it has no ocid, releases or records)",
    }


def test_truncated_json_is_quarantined_not_fatal(tmp_path: Path) -> None:
    whole = json.dumps({"releases": [_release()]})
    good = json.dumps(_release("ocds-ok", "ok"))
    contracts, manifest, quarantine = _import(tmp_path, {
        "cut.json": whole[: len(whole) // 2],
        "cut.jsonl": good + "\n" + good[:40] + "\n",
    })

    assert contracts["ocid"].tolist() == ["ocds-ok"]
    assert manifest["sources"]["cut.json"] == {"records_in": 1, "records_quarantined": 1}
    assert manifest["sources"]["cut.jsonl"]["records_quarantined"] == 1
    reasons = dict(zip(quarantine["source"], quarantine["reasons"], strict=True))
    assert reasons["cut.json"].startswith("file is not valid JSON (")
    assert reasons["cut.jsonl"].startswith("line 2 is not valid JSON (")


def test_windows_1252_file_is_decoded(tmp_path: Path) -> None:
    name = "Caf\u00e9 O\u2019Neill \u00a3 Ltd"  # é, a curly apostrophe and £: bytes 0xE9, 0x92, 0xA3 in cp1252
    release = _release(parties=[{"id": "B1", "name": "Example Council", "roles": ["buyer"]},
                                {"id": "S1", "name": name, "roles": ["supplier"]}],
                       awards=[{"id": "A1", "date": "2024-01-02", "value": {"amount": 5, "currency": "GBP"},
                                "suppliers": [{"id": "S1"}]}])
    text = json.dumps({"releases": [release]}, ensure_ascii=False)
    contracts, manifest, _ = _import(tmp_path, {"cp1252.json": text.encode("cp1252")})

    assert contracts["supplier_name"].tolist() == [name]
    assert "cp1252.json is not UTF-8; it was read as cp1252" in manifest["warnings"]


def test_releases_that_map_to_nothing_say_why(tmp_path: Path) -> None:
    releases = [
        _release("ocds-tender", "t", awards=[], tag=["tender"]),
        {k: v for k, v in _release("ocds-noawards", "n").items() if k != "awards"} | {"tag": ["tender"]},
        _release("ocds-nomethod", "m", method=None,
                 tender={"id": "T", "procurementMethodDetails": "Open procedure"}),
        _release("ocds-badmethod", "b", method="negotiated"),
        _release("ocds-dead", "d", awards=[{"id": "A", "status": "unsuccessful", "suppliers": [{"id": "S1"}]},
                                           {"id": "B", "status": "active", "suppliers": []}]),
        _release("ocds-baddate", "x", tender={"procurementMethod": "open", "tenderPeriod": {"endDate": "soon"}}),
    ]
    contracts, manifest, quarantine = _import(tmp_path, {"many.json": json.dumps(releases)})

    assert contracts.empty  # no rows at all: no table written
    assert manifest["tables"] == {}
    assert _reasons(quarantine) == {
        "release t (item 1)": "release has no awards (tag: tender)",
        "release n (item 2)": "release has no awards (tag: tender)",
        "release m (item 3)": ("tender.procurementMethod is missing; the contract requires open, selective, limited "
                               "or direct (procurementMethodDetails: 'Open procedure')"),
        "release b (item 4)": "tender.procurementMethod is 'negotiated'; the contract requires open, selective, "
                              "limited or direct",
        "release d (item 5)": ("release has no award with a supplier that is not cancelled or unsuccessful "
                               "(status: active, unsuccessful)"),
        "release x (item 6)": ("tender.tenderPeriod.endDate: 'soon' is not a date in a known form (YYYY-MM-DD, "
                               "DD/MM/YYYY, YYYYMMDD, 4 March 2021)"),
    }
    assert {"reason": "release has no awards (tag: tender)", "count": 2} in manifest["top_reasons"]


def test_non_gbp_awards_are_not_converted(tmp_path: Path) -> None:
    def award(aid: str, currency: str) -> dict[str, Any]:
        return {"id": aid, "date": "2024-01-02", "value": {"amount": 10, "currency": currency},
                "suppliers": [{"id": "S1"}]}

    releases = [_release("ocds-eur", "e", awards=[award("A1", "EUR"), award("A2", "EUR")]),
                _release("ocds-mixed", "m", awards=[award("A1", "GBP"), award("A2", "USD")],
                         tender={"procurementMethod": "open", "value": {"amount": 50, "currency": "USD"}})]
    contracts, manifest, quarantine = _import(tmp_path, {"fx.json": json.dumps(releases)})

    assert contracts[["ocid", "award_id", "award_value"]].values.tolist() == [["ocds-mixed", "A1", 10.0]]
    assert contracts["estimated_value"].isna().all()
    assert _reasons(quarantine) == {"release e (item 1)": "award value in EUR, not GBP (amounts are not converted)"}
    assert "fx.json: 1 awards skipped: value not in GBP (e.g. USD in ocds-mixed)" in manifest["warnings"]
    assert "fx.json: 1 tender.value amounts not in GBP left empty (e.g. USD in ocds-mixed)" in manifest["warnings"]


def test_amendments_give_modifications_and_final_value(tmp_path: Path) -> None:
    def award(aid: str) -> dict[str, Any]:
        return {"id": aid, "status": "active", "date": "2022-01-05", "value": {"amount": 100, "currency": "GBP"},
                "suppliers": [{"id": "S1"}], "contractPeriod": {"startDate": "2022-02-01", "endDate": "2022-12-31"}}

    release = _release(
        "ocds-amend", awards=[award("A1"), award("A2"), award("A3"), award("A4")],
        contracts=[
            {"id": "C1", "awardID": "A1", "period": {"startDate": "2022-03-01T00:00:00Z", "endDate": "2023-02-28"},
             "value": {"amount": 150, "currency": "GBP"},
             "amendments": [{"id": "m1", "date": "2022-06-01"}, {"id": "m2", "date": "2022-09-01"}],
             "implementation": {"transactions": [{"id": "t1", "value": {"amount": 70, "currency": "GBP"}},
                                                 {"id": "t2", "value": {"amount": 70, "currency": "GBP"}}]}},
            {"id": "C2", "awardID": "A2", "value": {"amount": 100, "currency": "GBP"}, "amendments": []},
            {"id": "C3", "awardID": "A3", "value": {"amount": 120, "currency": "GBP"},
             "amendment": {"date": "2022-05-01", "rationale": "extension"}},  # OCDS 1.0
        ],
    )
    contracts, _, _ = _import(tmp_path, {"amend.json": json.dumps(release)})

    got = contracts.set_index("award_id").sort_index()
    assert got["modifications"].tolist()[:3] == [2, 0, 1]
    assert pd.isna(got.loc["A4", "modifications"])  # no contract: unknown, not 0
    # The amended contract's current value, not the sum of its transactions; nothing without amendments.
    assert (got.loc["A1", "final_value"], got.loc["A3", "final_value"]) == (150.0, 120.0)
    assert got.loc[["A2", "A4"], "final_value"].isna().all()
    # The contract's own period wins; without one, the award's contractPeriod.
    assert (got.loc["A1", "contract_start"], got.loc["A1", "contract_end"]) == (dt.date(2022, 3, 1),
                                                                                dt.date(2023, 2, 28))
    assert (got.loc["A2", "contract_start"], got.loc["A2", "contract_end"]) == (dt.date(2022, 2, 1),
                                                                                dt.date(2022, 12, 31))


def test_award_without_date_is_quarantined_by_the_contract(tmp_path: Path) -> None:
    release = _release("ocds-nodate", "nd", awards=[
        {"id": "A1", "value": {"amount": 10, "currency": "GBP"}, "suppliers": [{"id": "S1"}]},
        {"id": "A2", "date": "2024-01-01", "value": {"amount": 10, "currency": "GBP"}, "suppliers": [{"id": "S1"}]},
    ])
    contracts, manifest, quarantine = _import(tmp_path, {"nodate.jsonl": json.dumps(release) + "\n"})

    assert contracts["award_id"].tolist() == ["A2"]
    assert manifest["tables"]["contracts"] == {"rows_mapped": 2, "rows_written": 1, "rows_quarantined": 1,
                                               "rows_rejected": 0}
    assert manifest["sources"]["nodate.jsonl"]["rows_quarantined:contracts"] == 1
    row = quarantine.iloc[0]
    assert (row["record"], row["table"], row["stage"]) == ("release nd (line 1)", "contracts", "contract")
    assert "award_date" in row["reasons"]


# --------------------------------------------------------------------------------------- streamed packages

#: ijson's pure-Python backend (used only without its C extension) words errors otherwise, stops at the end of a bad
#: token rather than at its first byte, and buffers strings that cross its read blocks.
_PURE_PYTHON = ocds._IJSON.backend_name == "python"
#: ijson's message for a file that ends between values.
_CUT_SHORT = "Incomplete JSON content" if _PURE_PYTHON else "parse error: premature EOF"


def _lines(*documents: Any) -> str:
    return "".join(json.dumps(d) + "\n" for d in documents)


def test_package_is_read_one_release_at_a_time(tmp_path: Path) -> None:
    filler = "x" * 20_000  # a long tender description: the file is large, the rows are not
    releases = [_release(f"ocds-s-{i}", f"s{i}", tender={"procurementMethod": "open", "description": filler})
                for i in range(1, 301)]
    package = {"uri": "https://example.org/p", "publisher": {"name": "Example"}, "publishedDate": "2024-06-01",
               "releases": releases, "extensions": ["https://example.org/ext.json"]}  # metadata after releases too
    path = tmp_path / "big.json"
    path.write_text(json.dumps(package, indent=1), encoding="utf-8")  # pretty-printed: not JSON lines

    tracemalloc.start()
    try:
        records = list(ocds.read([path], {"warnings": []}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert [r.locator for r in records] == [f"release s{i} (document, release {i})" for i in range(1, 301)]
    assert [len(r.rows) for r in records] == [1] * 300
    # Reading the whole file would hold its 6 MB of text and more as objects. One release at a time holds about 2 MB,
    # whatever the file's size (mostly the 1 MiB blocks the encoding check decodes).
    assert path.stat().st_size > 6_000_000
    if not _PURE_PYTHON:
        assert peak < 3_000_000


def test_truncated_package_keeps_the_releases_before_the_break(tmp_path: Path) -> None:
    text = json.dumps({"uri": "https://example.org/p", "releases": [_release(f"ocds-t-{i}", f"t{i}")
                                                                     for i in (1, 2, 3)]})
    cut = text[: text.index('"ocid": "ocds-t-3"') + 30]  # inside the third release
    contracts, manifest, quarantine = _import(tmp_path, {"cut.json": cut})

    assert contracts["ocid"].tolist() == ["ocds-t-1", "ocds-t-2"]
    assert manifest["sources"]["cut.json"] == {"records_in": 3, "records_mapped": 2, "records_quarantined": 1,
                                               "rows_mapped:contracts": 2}
    assert _reasons(quarantine) == {"file": (
        f"file is not valid JSON ({_CUT_SHORT} at byte offset {len(cut)} of cut.json (its end: the file is cut "
        "short)); 2 releases read before it, none after it")}


def test_malformed_package_breaks_at_the_wrong_byte_and_nothing_after_is_read(tmp_path: Path) -> None:
    long = {"procurementMethod": "open", "description": "d" * 30_000}  # the break lies past ijson's first block
    text = json.dumps({"releases": [_release(f"ocds-m-{i}", f"m{i}", tender=long) for i in (1, 2, 3, 4)]})
    at = text.index('{"ocid": "ocds-m-4"')
    assert at > 65_536
    contracts, manifest, quarantine = _import(tmp_path, {"bad.json": text[:at] + "oops" + text[at:]})

    assert contracts["ocid"].tolist() == ["ocds-m-1", "ocds-m-2", "ocds-m-3"]
    assert manifest["sources"]["bad.json"]["records_quarantined"] == 1
    message, stop = ((f"Unexpected symbol 'oops' at {at}", at + 4) if _PURE_PYTHON
                     else ("lexical error: invalid char in json text", at))
    assert _reasons(quarantine) == {"file": (f"file is not valid JSON ({message} at byte offset {stop} of bad.json); "
                                             "3 releases read before it, none after it")}


def test_windows_1252_package_is_streamed_and_offsets_count_its_own_bytes(tmp_path: Path) -> None:
    def release(ocid: str, rid: str, name: str) -> dict[str, Any]:
        return _release(ocid, rid, parties=[{"id": "B1", "name": "Example Council", "roles": ["buyer"]},
                                            {"id": "S1", "name": name, "roles": ["supplier"]}],
                        awards=[{"id": "A1", "date": "2024-01-02", "value": {"amount": 5, "currency": "GBP"},
                                 "suppliers": [{"id": "S1"}]}])

    # Accented letters, a curly apostrophe and a pound sign: one byte each in cp1252, two or three in UTF-8.
    names = ["Caf\u00e9 \u00c9toile Ltd", "O\u2019Neill \u00a3 Co"]
    whole = json.dumps({"releases": [release(f"ocds-w-{i}", f"w{i}", n) for i, n in enumerate(names, 1)]},
                       ensure_ascii=False).encode("cp1252")
    other = json.dumps({"releases": [release(f"ocds-c-{i}", f"c{i}", n) for i, n in enumerate(names, 1)]},
                       ensure_ascii=False).encode("cp1252")
    cut = other[: other.index("O\u2019Neill".encode("cp1252")) + 3]  # inside the second release's supplier name
    contracts, manifest, quarantine = _import(tmp_path, {"whole.json": whole, "cut.json": cut})

    got = contracts.set_index("ocid")["supplier_name"].to_dict()
    assert got == {"ocds-w-1": names[0], "ocds-w-2": names[1], "ocds-c-1": names[0]}
    assert "whole.json is not UTF-8; it was read as cp1252" in manifest["warnings"]
    assert "cut.json is not UTF-8; it was read as cp1252" in manifest["warnings"]
    in_string = "Incomplete string lexeme" if _PURE_PYTHON else _CUT_SHORT
    assert _reasons(quarantine) == {"file": (
        f"file is not valid JSON ({in_string} at byte offset {len(cut)} of cut.json (its end: the file is cut "
        "short)); 1 release read before it, none after it")}


def test_json_lines_in_a_json_file_are_still_read_as_lines(tmp_path: Path) -> None:
    contracts, manifest, quarantine = _import(tmp_path, {
        "lines.json": _lines(_release("ocds-jl-1", "j1"), _release("ocds-jl-2", "j2")),
        "first-broken.json": '{"ocid": \n' + _lines(_release("ocds-jl-3", "j3")),
    })

    assert sorted(contracts["ocid"]) == ["ocds-jl-1", "ocds-jl-2", "ocds-jl-3"]
    assert manifest["sources"]["lines.json"] == {"records_in": 2, "records_mapped": 2, "rows_mapped:contracts": 2}
    assert _reasons(quarantine) == {"line 1": "line 1 is not valid JSON (Expecting value at column 1)"}


def test_bare_record_is_read_whole_not_as_a_package(tmp_path: Path) -> None:
    record = {"ocid": "ocds-br", "releases": [{"url": "https://example.org/r/1", "date": "2024-03-01"}],
              "compiledRelease": _release("ocds-br", "ocds-br-compiled")}
    contracts, _, quarantine = _import(tmp_path, {"record.json": json.dumps(record, indent=2)})

    assert contracts["ocid"].tolist() == ["ocds-br"]
    assert quarantine.empty


# ------------------------------------------------------------------------------------ releases and updates


def _award(value: float, aid: str = "A1", supplier: str = "Supplier One Ltd") -> dict[str, Any]:
    return {"id": aid, "status": "active", "date": "2024-02-20", "value": {"amount": value, "currency": "GBP"},
            "suppliers": [{"id": "S1", "name": supplier}]}


def test_a_later_release_supersedes_the_earlier_row(tmp_path: Path) -> None:
    update = _release("ocds-u", "u2", awards=[_award(95000)], date="2024-05-01T09:00:00+01:00", tag=["awardUpdate"])
    first = _release("ocds-u", "u1", awards=[_award(90000)], date="2024-03-01T10:00:00Z")
    undated = _release("ocds-u", "u0", awards=[_award(1)], date=None)
    # The update comes first in the file: the release date decides, not the order; an undated release never wins.
    contracts, manifest, quarantine = _import(tmp_path, {"u.jsonl": _lines(update, first, undated)})

    assert contracts[["ocid", "award_id", "award_value"]].values.tolist() == [["ocds-u", "A1", 95000.0]]
    assert pd.isna(contracts.loc[0, "modifications"])  # a changed award value is not a counted amendment
    assert manifest["sources"]["u.jsonl"] == {"records_in": 3, "records_mapped": 1, "records_quarantined": 2,
                                              "rows_mapped:contracts": 1}
    assert manifest["tables"]["contracts"] == {"rows_mapped": 1, "rows_written": 1, "rows_quarantined": 0,
                                               "rows_rejected": 0}
    assert _reasons(quarantine) == {
        "release u1 (line 2)": "superseded by release 'u2' of 2024-05-01T09:00:00+01:00 in u.jsonl",
        "release u0 (line 3)": "superseded by release 'u2' of 2024-05-01T09:00:00+01:00 in u.jsonl",
    }
    assert ("2 contracts rows superseded by a later release of the same award and supplier were set aside (2 of them "
            "with another award_value than the row kept; a changed value is not counted as a modification)"
            ) in manifest["warnings"]
    assert ("u.jsonl: 1 releases without a readable date (a dated release of the same award and supplier supersedes "
            "them) (e.g. u0)") in manifest["warnings"]


def test_same_date_the_later_release_in_the_input_wins(tmp_path: Path) -> None:
    # Same instant written two ways; the second release in the package wins.
    a = _release("ocds-tie", "t1", awards=[_award(90000)], date="2024-03-01T10:00:00Z")
    b = _release("ocds-tie", "t2", awards=[_award(91000)], date="2024-03-01T11:00:00+01:00")
    contracts, manifest, quarantine = _import(tmp_path, {"tie.json": json.dumps({"releases": [a, b]})})

    assert contracts["award_value"].tolist() == [91000.0]
    assert manifest["tables"]["contracts"]["rows_quarantined"] == 0  # not a conflict for the contract any more
    assert _reasons(quarantine) == {
        "release t1 (document, release 1)": "superseded by release 't2' of 2024-03-01T11:00:00+01:00 in tie.json"}


def test_update_in_another_source_file_and_identical_copies(tmp_path: Path) -> None:
    first = _release("ocds-x", "x1", awards=[_award(90000)], date="2024-03-01T10:00:00Z")
    other = _release("ocds-y", "y1", awards=[_award(5000)], date="2024-03-02T10:00:00Z")
    update = _release("ocds-x", "x2", awards=[_award(90000)], date="2024-04-01T10:00:00Z")  # same values
    contracts, manifest, quarantine = _import(tmp_path, {
        "march.jsonl": _lines(first, other),
        "april.json": json.dumps({"releases": [update]}),
        "march-again.jsonl": _lines(first),  # last in the input, but the earlier release
    })

    assert sorted(contracts["ocid"]) == ["ocds-x", "ocds-y"]
    assert contracts.set_index("ocid").loc["ocds-x", "award_value"] == 90000.0
    assert manifest["sources"]["march.jsonl"] == {"records_in": 2, "records_mapped": 1, "records_quarantined": 1,
                                                  "rows_mapped:contracts": 1}
    assert manifest["sources"]["april.json"] == {"records_in": 1, "records_mapped": 1, "rows_mapped:contracts": 1}
    assert manifest["sources"]["march-again.jsonl"] == {"records_in": 1, "records_quarantined": 1}
    assert manifest["tables"]["contracts"]["rows_quarantined"] == 0
    expected = "superseded by release 'x2' of 2024-04-01T10:00:00Z in april.json"
    assert quarantine[["source", "record", "stage", "reasons"]].values.tolist() == [
        ["march.jsonl", "release x1 (line 1)", "map", expected],
        ["march-again.jsonl", "release x1 (line 1)", "map", expected],
    ]


def test_release_with_some_rows_superseded_keeps_the_others(tmp_path: Path) -> None:
    first = _release("ocds-p", "p1", awards=[_award(100, "A1"), _award(200, "A2")], date="2024-03-01")
    update = _release("ocds-p", "p2", awards=[_award(150, "A1")], date="2024-03-05")
    contracts, manifest, quarantine = _import(tmp_path, {"p.jsonl": _lines(first, update)})

    got = contracts.sort_values("award_id")[["award_id", "award_value"]].values.tolist()
    assert got == [["A1", 150.0], ["A2", 200.0]]
    # The superseded row is one more record: records in = mapped + quarantined still holds.
    assert manifest["sources"]["p.jsonl"] == {"records_in": 3, "records_mapped": 2, "records_quarantined": 1,
                                              "rows_mapped:contracts": 2}
    assert _reasons(quarantine) == {"release p1 (line 1), 1 of its 2 rows": (
        "award 'A1', supplier 'Supplier One Ltd' superseded by release 'p2' of 2024-03-05 in p.jsonl")}


@pytest.mark.realdata
def test_real_contracts_finder_releases(tmp_path: Path) -> None:
    sources = sorted(REAL.glob("cf_releases_*.jsonl"))  # the folder's other .jsonl holds BODS statements
    if not sources:
        pytest.skip(f"real data not found at {REAL}")
    result = import_sources("ocds", sources, tmp_path / "real")
    manifest = result.manifest
    _check_identity(manifest)
    assert manifest["records_in"] == sum(1 for p in sources for line in p.open(encoding="utf-8") if line.strip())
    assert manifest["records_mapped"] > 0
    contracts = pd.read_parquet(result.tables["contracts"])
    assert contracts["supplier_company_number"].notna().sum() > 0
    assert contracts["supplier_company_number"].dropna().str.fullmatch(r"[A-Z0-9]{8}").all()
    assert set(contracts["procurement_method"]) <= {"open", "selective", "limited", "direct"}
