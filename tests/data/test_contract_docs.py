"""The contract in prose must not drift from the contract in code.

Two documents are checked against :data:`riskmodel.contract.spec.TABLES`:

* ``docs/data-contract.md``, the project's own documentation, column by column (type, required, allowed values,
  markers), plus each table's key, jobs, minimum rows and date orders;
* ``../shared/data-contract.md``, the project-wide contract the code implements: column names and order, types and
  nullability, enumerations, snapshot columns and required/optional tables. These tests skip when the shared file is
  not there (a checkout outside the shared workspace).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from riskmodel.contract.spec import MAX_DATE, MIN_DATE, TABLES, DType

DOCS = Path(__file__).parents[2] / "docs" / "data-contract.md"
SHARED = Path(__file__).parents[3] / "shared" / "data-contract.md"

#: Column table header of every table section in docs/data-contract.md.
DOC_HEADER = ["column", "type", "required", "allowed values", "notes"]
#: Notes markers, in the order the docs promise to write them, and the ColumnSpec flag each one stands for.
MARKERS = {"snapshot": "snapshot", "event": "event", "protected": "protected", "non-negative": "non_negative"}
#: A table section's heading is the bare table name; prose headings never look like this.
TABLE_HEADING = re.compile(r"[a-z][a-z0-9_]*")
BULLET = re.compile(r"^- \*\*(?P<field>[A-Za-z ]+):\*\*\s*(?P<value>.*)$")
BACKTICKED = re.compile(r"`([^`]+)`")


# --- markdown helpers -------------------------------------------------------------------------------------------


def _sections(text: str, level: int) -> list[tuple[str, list[str]]]:
    """Split ``text`` at headings of exactly ``level`` (``#`` count), ignoring fenced code blocks."""
    prefix = "#" * level + " "
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith(prefix):
            sections.append((line[len(prefix):].strip(), []))
        else:
            sections[-1][1].append(line)
    return sections


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _tables(lines: list[str]) -> list[tuple[list[str], list[list[str]]]]:
    """Markdown tables in ``lines`` as (header, rows); the separator row is dropped."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2 and re.fullmatch(r"[\s|:-]+", block[1]):
            tables.append((_cells(block[0]), [_cells(row) for row in block[2:]]))
        block = []
    return tables


def _split_notes(notes: str) -> tuple[list[str], str]:
    """Markers and description of a notes cell: ``marker, marker; description`` or just ``description``."""
    head, sep, rest = notes.partition(";")
    words = [w.strip() for w in head.split(",")]
    if sep and all(w in MARKERS for w in words):
        return words, rest.strip()
    return [], notes.strip()


# --- docs/data-contract.md --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_text() -> str:
    assert DOCS.is_file(), f"{DOCS} is missing: the data contract must be documented inside the project"
    return DOCS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc_sections(docs_text: str) -> dict[str, list[str]]:
    """Table sections of the docs by table name (headings that are a bare lower-case name)."""
    found: dict[str, list[str]] = {}
    for heading, body in _sections(docs_text, 2):
        if TABLE_HEADING.fullmatch(heading):
            assert heading not in found, f"docs/data-contract.md has two sections for table {heading!r}"
            found[heading] = body
    return found


def _doc_section(doc_sections: dict[str, list[str]], table: str) -> list[str]:
    if table not in doc_sections:
        pytest.fail(f"docs/data-contract.md has no '## {table}' section")
    return doc_sections[table]


def _bullets(body: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in body:
        match = BULLET.match(line)
        if match:
            out[match["field"]] = match["value"].strip()
    return out


def _column_rows(table: str, body: list[str]) -> list[list[str]]:
    column_tables = [(header, rows) for header, rows in _tables(body) if header and header[0] == "column"]
    assert len(column_tables) == 1, f"## {table}: expected exactly one column table, found {len(column_tables)}"
    header, rows = column_tables[0]
    assert header == DOC_HEADER, f"## {table}: column table header is {header}, expected {DOC_HEADER}"
    for row in rows:
        assert len(row) == len(DOC_HEADER), f"## {table}: row {row} has {len(row)} cells, expected {len(DOC_HEADER)}"
    return rows


def test_no_section_for_an_unknown_table(doc_sections: dict[str, list[str]]) -> None:
    unknown = sorted(set(doc_sections) - set(TABLES))
    assert not unknown, f"docs/data-contract.md documents tables that are not in TABLES: {unknown}"


def test_column_tables_only_in_table_sections(docs_text: str) -> None:
    for heading, body in _sections(docs_text, 2):
        if TABLE_HEADING.fullmatch(heading):
            continue
        headers = [header for header, _ in _tables(body)]
        assert DOC_HEADER not in headers, (
            f"section {heading!r} holds a column table but its heading is not a bare table name")


@pytest.mark.parametrize("table", list(TABLES))
def test_table_section_matches_spec(doc_sections: dict[str, list[str]], table: str) -> None:
    spec = TABLES[table]
    body = _doc_section(doc_sections, table)
    bullets = _bullets(body)
    problems: list[str] = []

    first_paragraph = next((line for line in body if line.strip()), "")
    if not first_paragraph or first_paragraph.startswith(("-", "|")):
        problems.append("no one-line description before the bullets")

    if "Key" not in bullets:
        problems.append("no '- **Key:**' line")
    elif tuple(BACKTICKED.findall(bullets["Key"])) != spec.key:
        problems.append(f"key shown as {BACKTICKED.findall(bullets['Key'])}, spec.key is {list(spec.key)}")

    needed = bullets.get("Needed for")
    if needed is None:
        problems.append("no '- **Needed for:**' line")
    else:
        shown = tuple(BACKTICKED.findall(needed)) if needed != "none" else ()
        if shown != spec.required_for:
            problems.append(f"needed for {list(shown)}, spec.required_for is {list(spec.required_for)}")

    min_rows = int(bullets.get("Minimum rows", "0"))
    if min_rows != spec.min_rows:
        problems.append(f"minimum rows shown as {min_rows}, spec.min_rows is {spec.min_rows}")

    orders = re.findall(r"`(\w+)` <= `(\w+)`", bullets.get("Date order", ""))
    expected = [(o.earlier, o.later) for o in spec.date_orders]
    if orders != expected:
        problems.append(f"date order shown as {orders}, spec.date_orders is {expected}")

    assert not problems, f"## {table} in docs/data-contract.md drifted from the spec:\n" + "\n".join(problems)


@pytest.mark.parametrize("table", list(TABLES))
def test_columns_match_spec(doc_sections: dict[str, list[str]], table: str) -> None:
    spec = TABLES[table]
    rows = _column_rows(table, _doc_section(doc_sections, table))
    names = tuple(row[0] for row in rows)
    assert names == spec.column_names, (
        f"## {table}: documented columns {list(names)}\n differ from spec.column_names {list(spec.column_names)}")

    problems: list[str] = []
    for (name, dtype, required, allowed, notes), col in zip(rows, spec.columns, strict=True):
        if dtype != col.dtype.value:
            problems.append(f"{name}: type {dtype!r}, spec says {col.dtype.value!r}")
        if required not in ("yes", "no"):
            problems.append(f"{name}: required must be 'yes' or 'no', found {required!r}")
        elif (required == "yes") == col.nullable:
            problems.append(f"{name}: required {required!r}, spec nullable={col.nullable}")
        shown = sorted(allowed.split(", ")) if allowed else None
        spec_allowed = sorted(col.allowed) if col.allowed is not None else None
        if shown != spec_allowed:
            problems.append(f"{name}: allowed values {shown}, spec allows {spec_allowed}")
        markers, description = _split_notes(notes)
        if not description:
            problems.append(f"{name}: notes have no description")
        if re.match(r"(?:{})\b".format("|".join(map(re.escape, MARKERS))), description):
            problems.append(f"{name}: notes {notes!r} start with a marker word but not as 'marker, ...; description'")
        if markers != sorted(set(markers), key=list(MARKERS).index):
            problems.append(f"{name}: markers {markers} repeated or not in the order {list(MARKERS)}")
        for marker, flag in MARKERS.items():
            if (marker in markers) != getattr(col, flag):
                problems.append(f"{name}: marker {marker!r} {'shown' if marker in markers else 'missing'}, "
                                f"spec {flag}={getattr(col, flag)}")
    assert not problems, f"## {table} in docs/data-contract.md drifted from the spec:\n" + "\n".join(problems)


def _prose_section(docs_text: str, heading: str) -> str:
    for title, body in _sections(docs_text, 2):
        if title == heading:
            return "\n".join(body)
    pytest.fail(f"docs/data-contract.md has no '## {heading}' section")


def test_docs_snapshot_section_names_the_snapshot_columns(docs_text: str) -> None:
    named = set(re.findall(r"`(\w+)\.(\w+)`", _prose_section(docs_text, "Snapshot columns")))
    expected = {(t, c) for t, spec in TABLES.items() for c in spec.snapshot_columns}
    assert named == expected


def test_docs_protected_section_names_the_protected_columns(docs_text: str) -> None:
    named = set(BACKTICKED.findall(_prose_section(docs_text, "Protected characteristics"))) - {"protected"}
    expected = {c.name for spec in TABLES.values() for c in spec.columns if c.protected}
    assert named == expected


def test_docs_types_and_date_range(docs_text: str) -> None:
    types = _prose_section(docs_text, "Types and formats")
    listed = {row[0].strip("`") for header, rows in _tables(types.splitlines()) if header[0] == "type" for row in rows}
    assert listed == {d.value for d in DType}
    assert f"between {MIN_DATE} and {MAX_DATE}" in docs_text


# --- ../shared/data-contract.md ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_text() -> str:
    if not SHARED.is_file():
        pytest.skip(f"shared data contract not found at {SHARED} (checkout outside the shared workspace)")
    return SHARED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shared_tables(shared_text: str) -> dict[str, tuple[str, list[list[str]]]]:
    """Tables of the shared contract: name -> (group heading, rows of column, type, meaning)."""
    found: dict[str, tuple[str, list[list[str]]]] = {}
    for group, group_body in _sections(shared_text, 2):
        for heading, body in _sections("\n".join(group_body), 3):
            match = re.match(r"(\w+):", heading)
            if not match:
                continue
            column_tables = [rows for header, rows in _tables(body) if header == ["column", "type", "meaning"]]
            assert len(column_tables) == 1, f"shared contract, table {match[1]}: expected one column table"
            found[match[1]] = (group, column_tables[0])
    assert found, f"no '### table: ...' sections found in {SHARED}"
    return found


def _shared_enumeration(meaning: str) -> list[str] | None:
    """Values a shared-contract meaning enumerates, or None.

    A meaning that starts with a backticked value lists the allowed values in backticks (backticks further in are
    examples, such as ``SC612345`` or ``56302;56101``); an integer code list is written ``1 = ...; 0 = ...``.
    """
    if meaning.startswith("`"):
        return BACKTICKED.findall(meaning)
    codes = re.findall(r"(?:^|;\s*)(-?\d+) = ", meaning)
    return codes or None


def test_shared_tables_are_the_spec_tables(shared_tables: dict[str, tuple[str, list[list[str]]]]) -> None:
    assert list(shared_tables) == list(TABLES)


def test_shared_required_and_optional_tables(shared_tables: dict[str, tuple[str, list[list[str]]]],
                                             shared_text: str) -> None:
    groups = {name: group for name, (group, _) in shared_tables.items()}
    assert set(groups.values()) == {"Required tables", "Optional tables"}
    for name, group in groups.items():
        assert TABLES[name].required == (group == "Required tables"), f"{name} is under {group!r}"
    train_only = set(re.findall(r"`(\w+)` is needed to train, not to score", shared_text))
    assert train_only, "the shared contract no longer says which tables are needed to train but not to score"
    for name, spec in TABLES.items():
        if name in train_only:
            assert spec.required_for == ("train",), name
        elif spec.required:
            assert "score" in spec.required_for, name


@pytest.mark.parametrize("table", list(TABLES))
def test_shared_columns_match_spec(shared_tables: dict[str, tuple[str, list[list[str]]]], table: str) -> None:
    spec = TABLES[table]
    if table not in shared_tables:
        pytest.fail(f"the shared contract has no table {table!r}")
    rows = shared_tables[table][1]
    names = tuple(row[0] for row in rows)
    assert names == spec.column_names, (
        f"{table}: shared contract columns {list(names)}\n differ from spec.column_names {list(spec.column_names)}")
    problems: list[str] = []
    for (name, dtype, meaning), col in zip(rows, spec.columns, strict=True):
        expected_type = col.dtype.value + ("?" if col.nullable else "")
        if dtype != expected_type:
            problems.append(f"{name}: shared type {dtype!r}, spec gives {expected_type!r}")
        enumeration = _shared_enumeration(meaning)
        if col.allowed is not None:
            if enumeration is None or sorted(enumeration) != sorted(col.allowed):
                problems.append(f"{name}: shared values {enumeration}, spec allows {sorted(col.allowed)}")
        elif enumeration is not None:
            problems.append(f"{name}: shared contract enumerates {enumeration}, spec has no allowed values")
    assert not problems, f"{table}: spec drifted from the shared contract:\n" + "\n".join(problems)


def _snapshot_paragraph(shared_text: str) -> str:
    for paragraph in re.split(r"\n\s*\n", shared_text):
        if "snapshots" in paragraph and "`companies.company_status`" in paragraph:
            return paragraph
    pytest.fail("the shared contract has no paragraph naming the snapshot columns")


def _snapshot_names(paragraph: str) -> list[tuple[str, str]]:
    """``(table, column pattern)`` pairs of the sentence listing the snapshot columns."""
    sentence = re.search(r"snapshots[^:]*:(.*?)\.(?:\s|$)", paragraph, flags=re.DOTALL)
    assert sentence, "the shared contract's snapshot paragraph no longer lists the columns after a colon"
    return re.findall(r"`(\w+)\.([\w*]+)`", sentence[1])


def test_shared_snapshot_columns_match_spec(shared_text: str) -> None:
    named = _snapshot_names(_snapshot_paragraph(shared_text))
    assert named, "no `table.column` names in the shared contract's snapshot paragraph"
    shared: set[tuple[str, str]] = set()
    for table, pattern in named:
        assert table in TABLES, f"snapshot paragraph names unknown table {table!r}"
        regex = re.compile(re.escape(pattern).replace(r"\*", r"\w*"))
        matches = {(table, c) for c in TABLES[table].column_names if regex.fullmatch(c)}
        assert matches, f"`{table}.{pattern}` matches no column of the spec"
        shared |= matches
    spec = {(t, c) for t, s in TABLES.items() for c in s.snapshot_columns}
    assert shared == spec


def test_shared_dated_replacements_are_event_dates(shared_text: str) -> None:
    paragraph = _snapshot_paragraph(shared_text)
    match = re.search(r"dated columns instead \(([^)]*)\)", paragraph)
    assert match, "the shared contract no longer names the dated columns that replace snapshots"
    tables = {t for t, _ in _snapshot_names(paragraph)}
    for name in BACKTICKED.findall(match[1]):
        owners = [TABLES[t].column(name) for t in tables if name in TABLES[t].column_names]
        assert owners, f"{name} is not a column of {sorted(tables)}"
        for col in owners:
            assert col.dtype is DType.DATE, f"{name} should be a date in the spec"
            assert col.event, f"{name} should be an event date in the spec"


def test_shared_protected_columns_are_protected(shared_tables: dict[str, tuple[str, list[list[str]]]]) -> None:
    for table, (_, rows) in shared_tables.items():
        for name, _, meaning in rows:
            if "protected characteristic" in meaning:
                assert TABLES[table].column(name).protected, f"{table}.{name}"


def test_shared_types_are_the_spec_types(shared_text: str) -> None:
    match = re.search(r"^Types: (.*?)\. `\?`", shared_text, flags=re.MULTILINE | re.DOTALL)
    assert match, "the shared contract no longer lists its types"
    listed = {t for t in BACKTICKED.findall(match[1]) if re.fullmatch(r"[a-z]+", t)}
    assert listed == {d.value for d in DType}
