"""Business-day calendar: weekends, national and departmental holidays (``holidays`` package, per the
country pack) and days an institution or office declares closed."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import holidays
from django.conf import settings
from django.utils import timezone

from .models import Closure, Institution, Office

# Closures are read for a window at a time; a deadline rarely runs past this many calendar days.
_WINDOW_DAYS = 120


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year, language="es")
    return frozenset(calendar.keys())


def holiday_names(year: int, *, department: str | None = None) -> dict[dt.date, str]:
    pack = settings.COUNTRY_PACK
    calendar = holidays.country_holidays(
        pack.holidays_country, subdiv=pack.holiday_subdivision(department), years=year, language="es"
    )
    return dict(sorted(calendar.items()))


def _local_date(start: dt.date | dt.datetime) -> dt.date:
    if isinstance(start, dt.datetime):
        if timezone.is_aware(start):
            return timezone.localtime(start).date()
        return start.date()
    return start


class BusinessCalendar:
    """Answers 'is this a working day?' for one institution/office, reading closures lazily by window."""

    def __init__(self, *, institution: Institution | None = None, office: Office | None = None) -> None:
        pack = settings.COUNTRY_PACK
        self.country = pack.holidays_country
        department = (office.department if office else "") or (institution.department if institution else "")
        self.subdivision = pack.holiday_subdivision(department or None)
        self.institution_id = institution.pk if institution else (office.institution_id if office else None)
        self.office_id = office.pk if office else None
        self._closures: set[dt.date] = set()
        self._loaded: tuple[dt.date, dt.date] | None = None

    def _ensure_closures(self, day: dt.date) -> None:
        if self.institution_id is None:
            return
        if self._loaded and self._loaded[0] <= day <= self._loaded[1]:
            return
        start = min(day, self._loaded[0]) if self._loaded else day - dt.timedelta(days=7)
        end = day + dt.timedelta(days=_WINDOW_DAYS)
        query: Any = Closure.objects.filter(institution_id=self.institution_id, date__range=(start, end))
        if self.office_id is None:
            query = query.filter(office__isnull=True)
        else:
            query = query.filter(office__isnull=True) | query.filter(office_id=self.office_id)
        self._closures.update(query.values_list("date", flat=True))
        self._loaded = (start, end)

    def is_business_day(self, day: dt.date) -> bool:
        if day.weekday() >= 5:
            return False
        if day in _holiday_dates(self.country, self.subdivision, day.year):
            return False
        self._ensure_closures(day)
        return day not in self._closures

    def add_business_days(self, start: dt.date | dt.datetime, days: int) -> dt.date:
        if days < 0:
            raise ValueError("days must be >= 0")
        day = _local_date(start)
        if days == 0:
            while not self.is_business_day(day):
                day += dt.timedelta(days=1)
            return day
        counted = 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return day

    def business_days_between(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        first, last = _local_date(start), _local_date(end)
        count = 0
        day = first
        while day < last:
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                count += 1
        return count


def business_days_after(
    start: dt.date | dt.datetime, n: int, *, institution: Institution | None, office: Office | None = None
) -> dt.date:
    """The date that is ``n`` business days after ``start`` (start day not counted; n=0 → next working day
    on or after start), for ``institution`` (its department's holidays and its declared closures)."""
    return BusinessCalendar(institution=institution, office=office).add_business_days(start, n)


def is_business_day(day: dt.date, *, institution: Institution | None, office: Office | None = None) -> bool:
    return BusinessCalendar(institution=institution, office=office).is_business_day(day)
