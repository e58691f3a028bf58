"""Watchlist features: the business, its current officers and its current owners screened against the watchlist.

Sanctions, debarment, disqualification and PEP lists (``view.watchlist``: entries listed by ``as_of`` and not
delisted by then) are screened with fuzzy name matching, the way compliance teams screen customers.

Matching (:func:`screen`)
    Names are normalised first: ASCII, lower case, punctuation and titles removed, "Surname, Given" reordered to
    "Given Surname" for people, and legal forms (Ltd, Limited, PLC, LLP, LLC, Inc, GmbH, Sdn Bhd, JSC, ...), a
    trailing "UK" or "GB" and a leading "The" removed for companies. Candidates are blocked before scoring: a name
    is only compared with entries sharing the first three letters of its first (or last) word together with the
    initial of its last (or first) word, which is symmetric in word order. Pairs are scored with rapidfuzz
    ``fuzz.token_sort_ratio`` (``cpdist``,
    two workers). For people, two common variants are tolerated and score 100 (without being *exact*): a missing
    middle name (one name has none and the first and last names agree exactly) and an initial for the given name
    ("J Marie Dunlop" for "James Marie Dunlop", when the rest, at least two words, agrees exactly). A pair is a
    *hit* at :data:`THRESHOLD` (92) or above.
Corroboration
    A hit only counts when the entity kind agrees (person entries for people; company entries for businesses,
    corporate officers and corporate or legal-person owners) and the country does not contradict it: the entry
    gives no country, the subject's country is unknown, or they are the same once mapped to ISO codes
    (:func:`features.jurisdictions.to_iso2`: "United Kingdom", "UK", "Scotland" are GB). A business's country is GB
    (the register is British), an officer's is ``country_of_residence`` and an owner's ``owner_jurisdiction``.
    People whose normalised name equals an entry's exactly but whose country contradicts it are *unconfirmed*
    matches, counted apart: namesakes are common, and the data hold no date of birth to settle them.

Features (NaN for every business when the data set has no watchlist table; 0 when it has one and nothing matches)
--------
watchlist_match_business_name
    1 when the business's name matches a corroborated company entry.
watchlist_match_officer
    Current officers matching a corroborated entry.
watchlist_match_owner
    Current owners (individual, corporate, legal person) matching a corroborated entry.
watchlist_unconfirmed_name_matches
    Current officers and individual owners whose exact normalised name is on the list but whose country
    contradicts the entry.

References: DATACROS (Transcrime 2018) indicator of links to sanctioned or listed people; FATF Recommendation 6
and UK Money Laundering Regulations 2017 (sanctions screening); Wolfsberg Group, *Guidance on Sanctions
Screening* (2019) on fuzzy matching, name normalisation and the false positives it must be tuned against.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import NamedTuple, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from features.catalogue import empty_feature, feature
from features.jurisdictions import to_iso2
from features.pit import AsOf
from features.text import few_ascii, python_pattern

__all__ = [
    "THRESHOLD",
    "normalise_company_names",
    "normalise_person_names",
    "screen",
    "watchlist_match_business_name",
    "watchlist_match_officer",
    "watchlist_match_owner",
    "watchlist_unconfirmed_name_matches",
]

#: Minimum ``token_sort_ratio`` (0-100) of a hit.
THRESHOLD = 92.0
#: Threads used by rapidfuzz.
WORKERS = 2
#: Country of the businesses of the register.
BUSINESS_COUNTRY = "GB"

_TITLES = r"(?:mr|mrs|ms|miss|mx|dr|sir|dame|lord|lady|prof|professor|rev|revd|hon|sheikh|shaikh)"
_HONOURS = r"(?:obe|mbe|cbe|kbe|dbe|qc|kc|jr|jnr|sr|snr|phd|esq)"
_LEGAL_TRAILING = [
    "limited liability partnership", "limited liability company", "public limited company",
    "joint stock company", "private limited company", "company limited by guarantee", "company limited",
    "private limited", "pvt ltd", "pte ltd", "pty ltd", "co ltd", "sdn bhd", "and co", "and company",
    "ltd", "limited", "plc", "llp", "lp", "llc", "lc", "inc", "incorporated", "corp", "corporation", "co", "company",
    "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "sl", "bv", "nv", "pty", "pte", "pvt", "bhd", "jsc",
    "ojsc", "cjsc", "pjsc", "ooo", "oao", "zao", "ab", "as", "asa", "oy", "oyj", "kft", "sro", "doo", "ltda",
    "eireli", "cic", "cio", "tov", "too",
    # A trailing country word qualifies a name as "(UK)" does: "Glosolve UK Limited" is the listed "Glosolve".
    "uk", "gb",
]
_LEGAL_LEADING = ["the", "llc", "ooo", "oao", "zao", "pao", "jsc", "ojsc", "cjsc", "pjsc", "tov", "too", "pt"]
_TRAILING = r"(?:\s+(?:" + "|".join(sorted(_LEGAL_TRAILING, key=len, reverse=True)) + r"))+$"
_LEADING = r"^(?:(?:" + "|".join(_LEGAL_LEADING) + r")\s+)+"
_COMPANY_HINT = r"\b(?:ltd|limited|llp|plc|llc|inc|gmbh|corporation|lp)\b"
_PARENS = r"\([^)]*\)"
_SURNAME_FIRST = r"^\s*([^,]+?)\s*,\s*(.+)$"
_QUOTES = "['\u2019`]"
_QUOTES_DOTS = "['\u2019`.]"
_TITLES_LEADING = r"^(?:" + _TITLES + r"\s+)+"
_HONOURS_TRAILING = r"(?:\s+" + _HONOURS + r")+$"
_NOT_WORD = r"[^a-z0-9 ]+"
#: Shortest normalised company name screened (shorter ones match too much).
_MIN_COMPANY_CHARS = 4


def _to_arrow(names: pd.Series | np.ndarray) -> pa.Array:
    values = names.to_numpy(dtype=object) if isinstance(names, pd.Series) else names
    return pa.array(values, type=pa.string(), from_pandas=True)


def _re(text: pa.Array, pattern: str, replacement: str) -> pa.Array:
    return pc.replace_substring_regex(text, pattern=pattern, replacement=replacement)


def _ascii_lower(text: pa.Array) -> pa.Array:
    text = pc.utf8_normalize(text, form="NFKD")
    return pc.utf8_lower(_re(text, r"\p{Mn}+", ""))


def _squash(text: pa.Array) -> pa.Array:
    text = _re(_re(text, _NOT_WORD, " "), r"\s+", " ")
    return pc.utf8_trim_whitespace(text)


def _blank_to_null(text: pa.Array) -> pa.Array:
    return pc.if_else(pc.greater(pc.utf8_length(text), 0), text, pa.scalar(None, pa.string()))


def _normalise_person(text: pa.Array) -> pa.Array:
    if (values := few_ascii(text)) is not None:
        return pa.array([_normalise_person_ascii(cast(str | None, v)) for v in values], pa.string())
    return _normalise_person_arrow(text)


def _normalise_company(text: pa.Array) -> pa.Array:
    if (values := few_ascii(text)) is not None:
        return pa.array([_normalise_company_ascii(cast(str | None, v)) for v in values], pa.string())
    return _normalise_company_arrow(text)


def _normalise_person_arrow(text: pa.Array) -> pa.Array:
    text = _re(_ascii_lower(text), _PARENS, " ")
    text = _re(text, _SURNAME_FIRST, r"\2 \1")
    text = _squash(_re(text, _QUOTES, ""))
    text = _re(text, _TITLES_LEADING, "")
    text = _re(text, _HONOURS_TRAILING, "")
    return _blank_to_null(text)


def _normalise_company_arrow(text: pa.Array) -> pa.Array:
    text = _re(_ascii_lower(text), _PARENS, " ")
    text = _squash(_re(_re(text, "&", " and "), _QUOTES_DOTS, ""))
    stripped = pc.utf8_trim_whitespace(_re(_re(text, _TRAILING, ""), _LEADING, ""))
    text = pc.if_else(pc.greater(pc.utf8_length(stripped), 0), stripped, text)
    return _blank_to_null(text)


# The same rules on one ASCII name in Python (features.text: equal results, without Arrow's per-call cost).
_PY = {name: python_pattern(pattern) for name, pattern in (
    ("parens", _PARENS), ("surname_first", _SURNAME_FIRST), ("quotes", _QUOTES), ("quotes_dots", _QUOTES_DOTS),
    ("titles", _TITLES_LEADING), ("honours", _HONOURS_TRAILING), ("trailing", _TRAILING), ("leading", _LEADING),
    ("other", _NOT_WORD), ("spaces", r"\s+"))}


def _squash_ascii(text: str) -> str:
    return _PY["spaces"].sub(" ", _PY["other"].sub(" ", text)).strip()


def _normalise_person_ascii(value: str | None) -> str | None:
    if value is None:
        return None
    text = _PY["surname_first"].sub(r"\2 \1", _PY["parens"].sub(" ", value.lower()))
    text = _squash_ascii(_PY["quotes"].sub("", text))
    text = _PY["honours"].sub("", _PY["titles"].sub("", text))
    return text or None


def _normalise_company_ascii(value: str | None) -> str | None:
    if value is None:
        return None
    text = _PY["parens"].sub(" ", value.lower())
    text = _squash_ascii(_PY["quotes_dots"].sub("", text.replace("&", " and ")))
    stripped = _PY["leading"].sub("", _PY["trailing"].sub("", text)).strip()
    return (stripped or text) or None


def _on_uniques(names: pd.Series | np.ndarray, func: Callable[[pa.Array], pa.Array]) -> tuple[np.ndarray, pa.Array]:
    """Normalise the distinct names only: (code of each name's normalised form or -1, distinct normalised names)."""
    encoded = _to_arrow(names).dictionary_encode()
    raw_codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    normalised = func(encoded.dictionary).dictionary_encode()
    norm_of_raw = np.append(normalised.indices.fill_null(-1).to_numpy(zero_copy_only=False), -1)
    return norm_of_raw[raw_codes], normalised.dictionary


def normalise_person_names(names: pd.Series) -> pd.Series:
    """Normalise people's names for matching ("SMITH, John A." -> "john a smith"; missing stays missing)."""
    codes, uniques = _on_uniques(names, _normalise_person)
    values = np.concatenate([uniques.to_numpy(zero_copy_only=False), np.array([None], dtype=object)])
    return pd.Series(values[codes], index=names.index, dtype=object)


def normalise_company_names(names: pd.Series) -> pd.Series:
    """Normalise company names for matching ("The Acme & Co. Trading LTD" -> "acme and co trading")."""
    codes, uniques = _on_uniques(names, _normalise_company)
    values = np.concatenate([uniques.to_numpy(zero_copy_only=False), np.array([None], dtype=object)])
    return pd.Series(values[codes], index=names.index, dtype=object)


def _ends(norm: pa.Array) -> tuple[pa.Array, pa.Array]:
    """First and last word of each normalised name (the same word for one-word names)."""
    first = pc.list_element(pc.split_pattern(norm, " ", max_splits=1), 0)
    last = pc.utf8_reverse(pc.list_element(pc.split_pattern(pc.utf8_reverse(norm), " ", max_splits=1), 0))
    return first, last


def _first_and_rest(norm: pa.Array) -> tuple[pa.Array, pa.Array]:
    """First word and the rest of each normalised name (rest null for one-word names)."""
    first = pc.list_element(pc.split_pattern(norm, " ", max_splits=1), 0)
    return first, _blank_to_null(_re(norm, r"^\S+\s*", ""))


def _block_keys(norm: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Blocking keys: first 3 letters of one end word with the initial of the other (symmetric in word order)."""
    first, last = _ends(norm)
    k1 = pc.binary_join_element_wise(pc.utf8_slice_codeunits(first, 0, 3), pc.utf8_slice_codeunits(last, 0, 1), "|")
    k2 = pc.binary_join_element_wise(pc.utf8_slice_codeunits(last, 0, 3), pc.utf8_slice_codeunits(first, 0, 1), "|")
    pos = np.arange(len(norm))
    return np.concatenate([pos, pos]), pa.concat_arrays([k1, k2])


class _Blocks(NamedTuple):
    """Target positions by blocking key: ``keys[i]`` holds ``positions[starts[i]:starts[i + 1]]``."""

    keys: pd.Index
    starts: np.ndarray
    positions: np.ndarray


def _blocks(norm: pa.Array) -> _Blocks:
    """Index the targets' blocking keys once, so each query costs a lookup of its own keys only."""
    t_pos, t_key = _block_keys(norm)
    side = pd.DataFrame({"key": t_key.to_numpy(zero_copy_only=False), "e": t_pos}).dropna().drop_duplicates()
    codes, uniques = pd.factorize(side["key"].to_numpy(dtype=object))
    order = np.argsort(codes, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(uniques)))]
    return _Blocks(pd.Index(uniques, dtype=object), starts, side["e"].to_numpy(dtype=np.int64)[order])


def _match_names(query: pa.Array, target: pa.Array, person: bool, threshold: float,
                 workers: int, target_blocks: _Blocks | None = None) -> pd.DataFrame:
    """Fuzzy hits between distinct normalised names (positions in ``query`` and ``target``, score, exact)."""
    if len(query) == 0 or len(target) == 0:
        return _no_hits()
    blocks = target_blocks if target_blocks is not None else _blocks(target)
    q_pos, q_key = _block_keys(query)
    code = blocks.keys.get_indexer(pd.Index(q_key.to_numpy(zero_copy_only=False), dtype=object))
    found = code >= 0
    if not found.any():
        return _no_hits()
    # Distinct (key, query) pairs, first occurrences in order (numpy: a supplier's handful of names would spend
    # most of their time in pandas' per-call overhead).
    keys, qs = _first_pairs(code[found].astype(np.int64), q_pos[found], len(query))
    sizes = blocks.starts[keys + 1] - blocks.starts[keys]
    # Each query's candidates in the targets' order (as a merge on the key would list them).
    within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    targets = blocks.positions[np.repeat(blocks.starts[keys], sizes) + within]
    qi, ti = _first_pairs(np.repeat(qs, sizes), targets, len(target))
    if len(qi) == 0:
        return _no_hits()
    qn = query.take(pa.array(qi)).to_numpy(zero_copy_only=False)
    tn = target.take(pa.array(ti)).to_numpy(zero_copy_only=False)
    # Threads only pay for themselves on many pairs (one supplier's names give a handful).
    threads = workers if len(qn) >= 1024 else 1
    score = np.asarray(process.cpdist(qn, tn, scorer=fuzz.token_sort_ratio, workers=threads, dtype=np.float32),
                       dtype="float64").ravel()
    exact = score >= 100.0
    if person:
        q_words = pc.count_substring(query.take(pa.array(qi)), " ").to_numpy(zero_copy_only=False) + 1
        t_words = pc.count_substring(target.take(pa.array(ti)), " ").to_numpy(zero_copy_only=False) + 1
        short = (np.minimum(q_words, t_words) <= 2) & (np.maximum(q_words, t_words) > 2)
        if short.any():
            # A missing middle name is tolerated only when the first and last names agree exactly.
            qf, ql = _ends(query.take(pa.array(qi[short])))
            tf, tl = _ends(target.take(pa.array(ti[short])))
            same = pc.and_(pc.equal(qf, tf), pc.equal(ql, tl)).to_numpy(zero_copy_only=False)
            score[np.flatnonzero(short)[same]] = 100.0
        low = np.flatnonzero(score < threshold)
        if len(low):
            # An initial stands for a given name when the rest (at least two words) agrees exactly.
            q_first, q_rest = _first_and_rest(query.take(pa.array(qi[low])))
            t_first, t_rest = _first_and_rest(target.take(pa.array(ti[low])))
            initial = pc.or_(pc.equal(pc.utf8_length(q_first), 1), pc.equal(pc.utf8_length(t_first), 1))
            same_initial = pc.equal(pc.utf8_slice_codeunits(q_first, 0, 1), pc.utf8_slice_codeunits(t_first, 0, 1))
            same_rest = pc.and_(pc.equal(q_rest, t_rest), pc.greater(pc.count_substring(q_rest, " "), 0))
            agree = pc.and_(pc.and_(initial, same_initial), same_rest).fill_null(False)
            score[low[agree.to_numpy(zero_copy_only=False)]] = 100.0
    keep = score >= threshold
    if not keep.any():
        return _no_hits()
    return pd.DataFrame({"q": qi[keep], "e": ti[keep], "score": score[keep], "exact": exact[keep]})


def _first_pairs(a: np.ndarray, b: np.ndarray, b_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs (``0 <= b < b_size``), each at its first occurrence, in their original order."""
    _, first = np.unique(a * max(b_size, 1) + b, return_index=True)
    first.sort()
    return a[first], b[first]


def _no_hits() -> pd.DataFrame:
    return pd.DataFrame({"q": np.empty(0, np.int64), "e": np.empty(0, np.int64), "score": np.empty(0),
                         "exact": np.empty(0, bool)})


def _entry_countries(entries: pd.DataFrame) -> pd.DataFrame:
    """(entry_id, iso) for each country an entry names (several may be separated by ';' or '|')."""
    raw = entries[["entry_id", "country"]].dropna()
    raw = raw.assign(country=raw["country"].astype(str).str.split(r"[;|]")).explode("country")
    text = raw["country"].str.strip()
    iso = to_iso2(text)
    # A country that cannot be mapped still contradicts a known one: keep it as written.
    iso = iso.where(iso.notna(), "?" + text.str.upper())
    out = pd.DataFrame({"entry_id": raw["entry_id"].to_numpy(), "iso": iso.to_numpy()})
    return out[out["iso"] != "?"].drop_duplicates(ignore_index=True)


class _Entries(NamedTuple):
    kinds: dict[str, tuple[np.ndarray, np.ndarray, pa.Array, _Blocks]]
    countries: pd.DataFrame


#: Work on the entries of recently screened watchlist frames, by identity (feature code never mutates its input).
_ENTRIES: dict[int, tuple[weakref.ref[pd.DataFrame], _Entries]] = {}


def _prepared_entries(entries: pd.DataFrame) -> _Entries:
    """Normalised names, blocking keys and countries of the entries, computed once per frame."""
    cached = _ENTRIES.get(id(entries))
    if cached is not None and cached[0]() is entries:
        return cached[1]
    entry_kind = entries["entity_kind"].to_numpy(dtype=object)
    kinds = {}
    for kind, normalise in (("person", _normalise_person), ("company", _normalise_company)):
        rows = np.flatnonzero(entry_kind == kind)
        codes, uniques = _on_uniques(entries["name"].to_numpy(dtype=object)[rows], normalise)
        kinds[kind] = (rows, codes, uniques, _blocks(uniques))
    prepared = _Entries(kinds, _entry_countries(entries))
    if len(_ENTRIES) >= 8:
        _ENTRIES.clear()
    _ENTRIES[id(entries)] = (weakref.ref(entries), prepared)
    return prepared


def screen(subjects: pd.DataFrame, entries: pd.DataFrame, threshold: float = THRESHOLD,
           workers: int = WORKERS) -> pd.DataFrame:
    """Screen subjects against watchlist entries; return every hit with its corroboration.

    Parameters
    ----------
    subjects : DataFrame
        Columns ``subject`` (any id, unique per row), ``name``, ``kind`` (``person`` or ``company``) and
        ``country`` (ISO code or name; may be missing).
    entries : DataFrame
        Watchlist rows with ``entry_id``, ``name``, ``entity_kind`` and ``country`` (contract ``watchlist`` table).
    threshold : float
        Minimum ``token_sort_ratio`` of a hit.
    workers : int
        rapidfuzz threads.

    Returns
    -------
    DataFrame
        One row per (subject, entry) hit of the same kind: ``subject``, ``entry_id``, ``score``, ``exact``
        (normalised names equal up to word order) and ``country_ok`` (the countries do not contradict).
    """
    out_cols = ["subject", "entry_id", "score", "exact", "country_ok"]
    hits: list[pd.DataFrame] = []
    subject_kind = subjects["kind"].to_numpy(dtype=object)
    prepared = _prepared_entries(entries)
    for kind, normalise in (("person", _normalise_person), ("company", _normalise_company)):
        s_rows = np.flatnonzero(subject_kind == kind)
        e_rows, e_codes, e_uniques, e_blocks = prepared.kinds[kind]
        if len(s_rows) == 0 or len(e_rows) == 0:
            continue
        s_codes, s_uniques = _on_uniques(subjects["name"].to_numpy(dtype=object)[s_rows], normalise)
        if kind == "person":
            usable = pc.greater(pc.count_substring(s_uniques, " "), 0)
        else:
            usable = pc.greater_equal(pc.utf8_length(s_uniques), _MIN_COMPANY_CHARS)
        usable_np = np.append(usable.fill_null(False).to_numpy(zero_copy_only=False), False)
        s_codes = np.where(usable_np[s_codes], s_codes, -1)
        found = _match_names(s_uniques, e_uniques, kind == "person", threshold, workers, e_blocks)
        if found.empty:
            continue
        s_map = pd.DataFrame({"q": s_codes, "subject": subjects["subject"].to_numpy()[s_rows]})
        e_map = pd.DataFrame({"e": e_codes, "entry_id": entries["entry_id"].to_numpy()[e_rows]})
        s_map = s_map[s_map["q"].isin(found["q"])]
        hit = found.merge(s_map, on="q").merge(e_map, on="e")
        hits.append(hit[["subject", "entry_id", "score", "exact"]])
    if not hits:
        return pd.DataFrame({"subject": np.empty(0, object), "entry_id": np.empty(0, object), "score": np.empty(0),
                             "exact": np.empty(0, bool), "country_ok": np.empty(0, bool)})
    hit = pd.concat(hits, ignore_index=True)
    hit_subjects = subjects[subjects["subject"].isin(hit["subject"])]
    subject_iso = to_iso2(hit_subjects.set_index("subject")["country"])
    hit = hit.assign(subject_iso=hit["subject"].map(subject_iso))
    countries = prepared.countries
    agree = hit.merge(countries, left_on=["entry_id", "subject_iso"], right_on=["entry_id", "iso"], how="left",
                      indicator=True)["_merge"].eq("both").to_numpy()
    no_entry_country = ~hit["entry_id"].isin(countries["entry_id"]).to_numpy()
    hit = hit.assign(country_ok=no_entry_country | hit["subject_iso"].isna().to_numpy() | agree)
    return hit[out_cols]


class _Screened(NamedTuple):
    business: pd.Series
    officer: pd.Series
    owner: pd.Series
    unconfirmed: pd.Series


def _subjects(view: AsOf) -> pd.DataFrame:
    """Everyone screened at ``as_of``: the businesses, their current officers and their current owners."""
    # Columns picked as arrays and one frame built at the end: on one supplier's neighbourhood, filtering whole
    # frames step by step cost more than the screening itself.
    comp, off, own = view.companies, view.officers, view.ownership
    targets = view.targets

    def rows(frame: pd.DataFrame, current: np.ndarray) -> np.ndarray:
        # Only the wanted businesses are screened: a business's matches depend on its own names alone.
        if targets is not None:
            current = current & frame["company_number"].isin(targets).to_numpy()
        return np.flatnonzero(current)

    def column(frame: pd.DataFrame, name: str, at: np.ndarray) -> np.ndarray:
        return frame[name].to_numpy(dtype=object)[at]

    at = rows(comp, np.ones(len(comp), dtype=bool))
    parts = {"company_number": [column(comp, "company_number", at)], "holder": [np.full(len(at), "business", object)],
             "person_id": [np.full(len(at), None, object)], "name": [column(comp, "company_name", at)],
             "kind": [np.full(len(at), "company", object)], "country": [np.full(len(at), BUSINESS_COUNTRY, object)]}

    def add(frame: pd.DataFrame, at: np.ndarray, holder: str, person: str, name: str, kind: np.ndarray,
            country: str) -> None:
        for key, values in (("company_number", column(frame, "company_number", at)),
                            ("holder", np.full(len(at), holder, object)), ("person_id", column(frame, person, at)),
                            ("name", column(frame, name, at)), ("kind", kind), ("country", column(frame, country, at))):
            parts[key].append(values)

    if not off.empty:
        at = rows(off, off["resigned_on"].isna().to_numpy())
        names = column(off, "officer_name", at)
        hinted = pc.match_substring_regex(_to_arrow(names), pattern=_COMPANY_HINT, ignore_case=True)
        corporate = (column(off, "officer_role", at) == "corporate-director") | hinted.fill_null(False).to_numpy(
            zero_copy_only=False)
        add(off, at, "officer", "officer_id", "officer_name", np.where(corporate, "company", "person").astype(object),
            "country_of_residence")
    if not own.empty:
        kinds = own["owner_kind"].to_numpy(dtype=object)
        screened = own["owner_kind"].isin(["individual", "corporate", "legal-person"]).to_numpy()
        at = rows(own, own["ceased_on"].isna().to_numpy() & screened)
        add(own, at, "owner", "owner_id", "owner_name",
            np.where(kinds[at] == "individual", "person", "company").astype(object), "owner_jurisdiction")
    subjects = pd.DataFrame({key: np.concatenate(values) for key, values in parts.items()})
    return subjects.assign(subject=np.arange(len(subjects)))


def _screened(view: AsOf) -> _Screened:
    """Screen once per view (the four features share the result)."""
    return view.memo("watchlist.screened", lambda: _screen_view(view))


def _screen_view(view: AsOf) -> _Screened:
    subjects = _subjects(view)
    hits = screen(subjects, view.watchlist)
    if hits.empty:  # the usual case: no name matched, so nothing to count
        return _Screened(*(pd.Series(0.0, index=view.index) for _ in _Screened._fields))
    hits = hits.merge(subjects[["subject", "company_number", "holder", "person_id", "kind"]], on="subject")
    confirmed = hits[hits["country_ok"]]

    def count(frame: pd.DataFrame, holder: str | list[str], key: str) -> pd.Series:
        holders = [holder] if isinstance(holder, str) else holder
        sel = frame[frame["holder"].isin(holders)]
        counts = sel.groupby("company_number")[key].nunique().astype("float64")
        return counts.reindex(view.index).fillna(0.0)

    confirmed_subjects = set(confirmed["subject"].to_numpy().tolist())
    unconfirmed = hits[hits["exact"] & ~hits["country_ok"] & (hits["kind"] == "person")
                       & (hits["holder"] != "business") & ~hits["subject"].isin(confirmed_subjects)]
    return _Screened(
        business=count(confirmed, "business", "company_number").clip(upper=1),
        officer=count(confirmed, "officer", "person_id"),
        owner=count(confirmed, "owner", "person_id"),
        unconfirmed=count(unconfirmed, ["officer", "owner"], "person_id"),
    )


def _absent(view: AsOf) -> bool:
    return not view.has("watchlist")


_REFERENCE = ("DATACROS (Transcrime 2018) links to sanctioned or listed persons; FATF Recommendation 6; "
              "Wolfsberg Group, Guidance on Sanctions Screening (2019)")


@feature(
    sources=("watchlist", "companies"),
    rationale="A business whose own name is on a sanctions or debarment list, with no contradicting country, may "
              "be the listed entity trading under its own name.",
    reference=_REFERENCE,
    direction="higher-is-riskier",
    reason="The business's name matched a sanctions or debarment list entry on {as_of} (1 = yes); "
           "{peer_share} of {peer_group} had a lower value",
)
def watchlist_match_business_name(view: AsOf) -> pd.Series:
    """1 when the business's name matches a corroborated company entry of the watchlist, else 0."""
    if _absent(view):
        return empty_feature()
    return _screened(view).business


@feature(
    sources=("watchlist", "officers"),
    rationale="An officer who matches a sanctioned, debarred or disqualified person, with no contradicting "
              "country, links the business to people already known to the authorities.",
    reference=_REFERENCE,
    direction="higher-is-riskier",
    reason="{value} current officers matched a watchlist entry on {as_of}; {peer_share} of {peer_group} had fewer",
)
def watchlist_match_officer(view: AsOf) -> pd.Series:
    """Count current officers matching a corroborated watchlist entry."""
    if _absent(view):
        return empty_feature()
    return _screened(view).officer


@feature(
    sources=("watchlist", "ownership"),
    rationale="An owner who matches a sanctioned or debarred person or company, with no contradicting country, "
              "suggests a listed party controls the business.",
    reference=_REFERENCE,
    direction="higher-is-riskier",
    reason="{value} current owners matched a watchlist entry on {as_of}; {peer_share} of {peer_group} had fewer",
)
def watchlist_match_owner(view: AsOf) -> pd.Series:
    """Count current owners matching a corroborated watchlist entry."""
    if _absent(view):
        return empty_feature()
    return _screened(view).owner


@feature(
    sources=("watchlist", "officers", "ownership"),
    rationale="An officer or owner with exactly the name of a listed person, though the country differs, needs a "
              "check: most such matches are namesakes, some are the listed person.",
    reference=_REFERENCE,
    direction="higher-is-riskier",
    reason="{value} current officers or owners shared their exact name with a watchlist entry from another "
           "country on {as_of} (unconfirmed); {peer_share} of {peer_group} had fewer",
)
def watchlist_unconfirmed_name_matches(view: AsOf) -> pd.Series:
    """Count current officers and individual owners with an exact-name, country-contradicted person entry."""
    if _absent(view):
        return empty_feature()
    return _screened(view).unconfirmed
