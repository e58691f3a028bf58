"""Statutory filing deadlines of annual accounts (Companies Act 2006 s.442-443), shared by several families."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["add_months", "statutory_deadline"]

DatetimeArray = npt.NDArray[np.datetime64]


def add_months(dates: DatetimeArray, months: int) -> DatetimeArray:
    """Add calendar months to datetime64 values (NaT stays NaT).

    The day is kept, clipped to the length of the target month, and a month-end date maps to the month end
    (s.443: a period ending on the last day of a month is due on the last day of a month).
    """
    days = dates.astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    day = days - month.astype("datetime64[D]")
    month_end = (days + np.timedelta64(1, "D")).astype("datetime64[M]") != month
    target = month + np.timedelta64(months, "M")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    last = length - np.timedelta64(1, "D")
    shift = np.where(month_end, last, np.minimum(day, last))
    return (target.astype("datetime64[D]") + shift).astype("datetime64[ns]")


def statutory_deadline(start: DatetimeArray, end: DatetimeArray, created: DatetimeArray,
                       public: npt.NDArray[np.bool_]) -> DatetimeArray:
    """Deadline of each accounting period: 9 months after its end (6 for a plc), s.442.

    A first period (starting at incorporation, within a week) longer than 12 months is due 21 (plc: 18) months
    after incorporation or 3 months after the period end, whichever is later (s.442(3)).
    """
    deadline = add_months(end, 9)
    deadline[public] = add_months(end[public], 6)
    first = start <= created + np.timedelta64(7, "D")
    first[first] = end[first] > add_months(created[first], 12)
    anniversary = np.where(public[first], add_months(created[first], 18), add_months(created[first], 21))
    deadline[first] = np.maximum(anniversary, add_months(end[first], 3))
    return deadline
