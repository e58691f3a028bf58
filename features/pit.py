"""Point-in-time views of a data set: what was known on a given date, and nothing after it.

Every table is cut to the rows dated on or before ``as_of``, and every later event inside a kept row is blanked
(a director who resigned after ``as_of`` was still in office then; a licence decided after ``as_of`` was still
pending). Snapshot columns (``company_status``, ``registered_office_*``, ``licences.status``) describe the day of
extraction, so they are only trusted when ``as_of`` is on or after the extract date; before it the view derives
what it can from dated columns (``licence_status_as_of``) and hides the rest. Feature functions only ever see
these views, which is what makes them point-in-time correct.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TypeVar, cast

import numpy as np
import pandas as pd

from riskmodel.contract import TABLES, Dataset
from riskmodel.contract.schemas import PANDAS_DTYPES

__all__ = ["AsOf"]

T = TypeVar("T")


class AsOf:
    """A data set as it stood at the end of ``as_of``.

    Parameters
    ----------
    dataset : Dataset
        A loaded data set (never modified).
    as_of : date
        The day whose end the view represents.
    targets : iterable of str, optional
        The businesses whose features are wanted (default: every business). The other businesses still count in
        every feature of the targets (peers at an office, the network); families whose work grows with the number
        of businesses (watchlist screening) only do it for the targets.
    """

    def __init__(self, dataset: Dataset, as_of: dt.date, targets: Iterable[str] | None = None) -> None:
        self.dataset = dataset
        self.as_of = as_of
        self.targets = None if targets is None else pd.Index(list(targets), dtype=object)
        self.t = pd.Timestamp(as_of)
        # Datetimes on the as-of day count as known by its end.
        self.t_end = self.t + pd.Timedelta(days=1)
        extract = dataset.extract_date
        self.snapshots_valid = extract is not None and as_of >= extract
        self._memo: dict[str, object] = {}

    def _table(self, name: str) -> pd.DataFrame:
        if name in self.dataset.tables:
            return self.dataset.tables[name]
        # An absent table reads as an empty one with the contract's columns and dtypes.
        spec = TABLES[name]
        return pd.DataFrame({c.name: pd.Series(dtype=PANDAS_DTYPES[c.dtype]) for c in spec.columns})

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute ``compute()`` once per view and key (shared work of several features of one family)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    def memo_keys(self) -> list[str]:
        """Keys of the shared work held (see :meth:`memo`)."""
        return list(self._memo)

    def forget(self, keys: Iterable[str]) -> None:
        """Drop shared work (computed again if asked for later)."""
        for key in keys:
            self._memo.pop(key, None)

    def has(self, name: str) -> bool:
        """Whether the data set holds table ``name`` (an absent optional table means missing, not zero)."""
        return name in self.dataset.tables

    def _blank_after(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        out = frame
        for col in columns:
            later = (frame[col] > self.t).to_numpy()
            if later.any():
                if out is frame:
                    # A shallow copy: the columns left alone stay shared with the data set (assigning a column
                    # replaces it in the copy only), so a view costs memory only for what it changes.
                    out = frame.copy(deep=False)
                out[col] = frame[col].where(~later)
        return out

    @staticmethod
    def _keep(frame: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
        # The frame itself when every row is kept (the usual case at the extract date): a copy of the largest
        # tables would cost as much memory again as the data set.
        return frame if bool(keep.all()) else frame[keep]

    @cached_property
    def companies(self) -> pd.DataFrame:
        """Businesses created on or before ``as_of``, indexed by company_number; snapshots hidden before extract."""
        comp = self._table("companies")
        comp = self._keep(comp, comp["date_of_creation"] <= self.t)
        comp = self._blank_after(comp, ["date_of_cessation"]).set_index("company_number", drop=False)
        if not self.snapshots_valid:
            comp = comp.assign(company_status=None, registered_office_postcode=None, registered_office_address=None)
        return comp

    @cached_property
    def index(self) -> pd.Index:
        """The businesses that existed at ``as_of`` (the rows of every feature frame)."""
        return pd.Index(self.companies.index, name="company_number")

    @cached_property
    def registered_office(self) -> pd.DataFrame:
        """Registered office postcode and address, always (see the note).

        The register only gives the current office. Using it before the extract date assumes offices rarely move;
        features that rely on it say so in their rationale. It is kept apart from ``companies`` so that its use is
        explicit.
        """
        comp = self._table("companies")
        comp = comp[comp["date_of_creation"] <= self.t].set_index("company_number")
        return comp[["registered_office_postcode", "registered_office_address"]]

    @cached_property
    def officers(self) -> pd.DataFrame:
        """Appointments made on or before ``as_of``; later resignations blanked."""
        off = self._table("officers")
        if off.empty:
            return off
        return self._blank_after(self._keep(off, off["appointed_on"] <= self.t), ["resigned_on"])

    @cached_property
    def ownership(self) -> pd.DataFrame:
        """PSC notifications on or before ``as_of``; later cessations blanked."""
        own = self._table("ownership")
        if own.empty:
            return own
        return self._blank_after(self._keep(own, own["notified_on"] <= self.t), ["ceased_on"])

    @cached_property
    def accounts(self) -> pd.DataFrame:
        """Accounts filed on or before ``as_of``."""
        acc = self._table("accounts")
        return acc if acc.empty else self._keep(acc, acc["filed_on"] <= self.t)

    @cached_property
    def licences(self) -> pd.DataFrame:
        """Applications made on or before ``as_of``, with ``status_as_of`` derived from dated columns."""
        lic = self._table("licences")
        if lic.empty:
            return lic
        lic = self._blank_after(self._keep(lic, lic["applied_on"] <= self.t), ["decided_on", "status_date"])
        decided = lic["decided_on"].notna()
        later_status = lic["status"].isin(["revoked", "suspended", "surrendered", "expired"])
        status = np.where(~decided, "pending", np.where(lic["status"] == "refused", "refused", "granted"))
        status = np.where(later_status & lic["status_date"].notna(), lic["status"], status)
        if self.snapshots_valid:
            status = lic["status"].to_numpy()
        return lic.assign(status_as_of=status)

    @cached_property
    def contracts(self) -> pd.DataFrame:
        """Awards made on or before ``as_of``; modifications only once the contract had ended by ``as_of``.

        OCDS flattenings give a final value without the date of each amendment, so the final value is only
        known for sure once the contract has ended.
        """
        con = self._table("contracts")
        if con.empty:
            return con
        con = self._keep(con, con["award_date"] <= self.t)
        ended = con["contract_end"].notna() & (con["contract_end"] <= self.t)
        return con.assign(final_value=con["final_value"].where(ended), modifications=con["modifications"].where(ended))

    @cached_property
    def transactions(self) -> pd.DataFrame:
        """Transactions booked by the end of ``as_of``."""
        tx = self._table("transactions")
        return tx if tx.empty else self._keep(tx, tx["booked_at"] < self.t_end)

    @cached_property
    def labels(self) -> pd.DataFrame:
        """Outcomes known on or before ``as_of`` (for network features; a business's own label is never a feature)."""
        lab = self._table("labels")
        return lab if lab.empty else self._keep(lab, lab["labelled_on"] <= self.t)

    @cached_property
    def watchlist(self) -> pd.DataFrame:
        """Entries listed on or before ``as_of`` (or undated) and not delisted by then."""
        wl = self._table("watchlist")
        if wl.empty:
            return wl
        listed = wl["listed_on"].isna() | (wl["listed_on"] <= self.t)
        current = wl["delisted_on"].isna() | (wl["delisted_on"] > self.t)
        keep = listed & current
        # The same frame when nothing is cut, so screening can reuse its work on the entries (see watchlist).
        return wl if keep.all() else wl[keep]
