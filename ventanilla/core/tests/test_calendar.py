"""Business-day calendar: weekends, national and departmental holidays, declared closures, time zones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import holidays
import pytest
from django.test import override_settings

from ventanilla.core.calendar import BusinessCalendar, business_days_after, is_business_day
from ventanilla.core.countries import get_pack
from ventanilla.core.errors import DomainError, Forbidden
from ventanilla.core.models import AuditEntry, Closure, Institution, Office
from ventanilla.core.services import closure_declare

D = dt.date
UTC = dt.UTC

# Reference calendars straight from the holidays package, so the assertions below rest on real data.
BO_NATIONAL_2026 = holidays.country_holidays("BO", years=2026)
BO_LA_PAZ_2026 = holidays.country_holidays("BO", subdiv="L", years=2026)
BO_SANTA_CRUZ_2026 = holidays.country_holidays("BO", subdiv="S", years=2026)
PY_2026 = holidays.country_holidays("PY", years=2026)


@pytest.fixture
def office_a_sede(institution_a: Institution) -> Office:
    return Office.objects.get(code="INSTA-SEDE")


@pytest.fixture
def office_a_alto(institution_a: Institution) -> Office:
    return Office.objects.create(
        institution=institution_a,
        code="INSTA-ALTO",
        name="Oficina El Alto",
        department="L",
        municipality="El Alto",
    )


def test_the_reference_holidays_exist_in_the_holidays_package() -> None:
    for day in (D(2026, 8, 6), D(2026, 1, 22), D(2026, 5, 1)):
        assert day in BO_NATIONAL_2026
        assert day.weekday() < 5  # a weekday, so only the holiday rule can make it non-working
    assert D(2026, 7, 16) in BO_LA_PAZ_2026
    assert D(2026, 7, 16) not in BO_NATIONAL_2026
    assert D(2026, 9, 24) in BO_SANTA_CRUZ_2026
    assert D(2026, 9, 24) not in BO_NATIONAL_2026
    assert D(2026, 5, 15) in PY_2026
    assert D(2026, 5, 14) in PY_2026
    assert D(2026, 5, 14) not in BO_NATIONAL_2026
    assert D(2026, 5, 15) not in BO_NATIONAL_2026


# -- weekends ---------------------------------------------------------------------------------------------


def test_weekends_are_not_business_days(db: Any) -> None:
    assert is_business_day(D(2026, 3, 6), institution=None)  # Friday
    assert not is_business_day(D(2026, 3, 7), institution=None)  # Saturday
    assert not is_business_day(D(2026, 3, 8), institution=None)  # Sunday
    assert is_business_day(D(2026, 3, 9), institution=None)  # Monday


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2026, 3, 6), 1, D(2026, 3, 9)),  # Friday + 1 → Monday
        (D(2026, 3, 2), 5, D(2026, 3, 9)),  # Monday + 5 → next Monday
        (D(2026, 3, 7), 1, D(2026, 3, 9)),  # Saturday + 1 → Monday
        (D(2026, 3, 2), 10, D(2026, 3, 16)),
    ],
)
def test_business_days_after_skips_weekends(db: Any, start: dt.date, n: int, expected: dt.date) -> None:
    assert business_days_after(start, n, institution=None) == expected


# -- national holidays ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holiday", "expected_next"),
    [
        (D(2026, 8, 6), D(2026, 8, 7)),  # Día de la Patria (Thursday)
        (D(2026, 1, 22), D(2026, 1, 23)),  # Estado Plurinacional (Thursday)
        (D(2026, 5, 1), D(2026, 5, 4)),  # Día del Trabajo (Friday) → Monday
    ],
)
def test_national_holidays_are_skipped_everywhere(
    institution_a: Institution, institution_b: Institution, holiday: dt.date, expected_next: dt.date
) -> None:
    for institution in (None, institution_a, institution_b):
        assert not is_business_day(holiday, institution=institution)
        assert (
            business_days_after(holiday - dt.timedelta(days=1), 1, institution=institution) == expected_next
        )


# -- departmental holidays --------------------------------------------------------------------------------


def test_la_paz_day_is_a_holiday_only_in_la_paz(institution_a: Institution, office_a_sede: Office) -> None:
    la_paz_day = D(2026, 7, 16)
    la_paz_gov = Institution.objects.create(
        code="GADLP", name="Gobierno Autónomo de La Paz", level="departamental", department="L"
    )
    # institution_a is national (no department): 16 July is a working day for it.
    assert institution_a.department == ""
    assert is_business_day(la_paz_day, institution=institution_a)
    assert business_days_after(D(2026, 7, 15), 1, institution=institution_a) == la_paz_day
    # ...but its office in La Paz, and an institution of the department, observe it.
    assert office_a_sede.department == "L"
    assert not is_business_day(la_paz_day, institution=institution_a, office=office_a_sede)
    assert business_days_after(D(2026, 7, 15), 1, institution=institution_a, office=office_a_sede) == D(
        2026, 7, 17
    )
    assert not is_business_day(la_paz_day, institution=la_paz_gov)
    assert business_days_after(D(2026, 7, 15), 1, institution=la_paz_gov) == D(2026, 7, 17)


def test_santa_cruz_day_is_a_holiday_only_in_santa_cruz(
    institution_a: Institution, institution_b: Institution
) -> None:
    santa_cruz_day = D(2026, 9, 24)
    assert institution_b.department == "S"
    assert not is_business_day(santa_cruz_day, institution=institution_b)
    assert business_days_after(D(2026, 9, 23), 1, institution=institution_b) == D(2026, 9, 25)
    assert is_business_day(santa_cruz_day, institution=institution_a)
    assert business_days_after(D(2026, 9, 23), 1, institution=institution_a) == santa_cruz_day
    # La Paz Day is not a holiday in Santa Cruz.
    assert is_business_day(D(2026, 7, 16), institution=institution_b)


# -- declared closures ------------------------------------------------------------------------------------


def test_closure_declared_by_bob_is_skipped_for_a_not_for_b(
    bob: Any, institution_a: Institution, institution_b: Institution
) -> None:
    closed = D(2026, 3, 4)  # Wednesday
    assert is_business_day(closed, institution=institution_a)

    closure = closure_declare(actor=bob, institution=institution_a, date=closed, reason="  Inventario anual ")

    assert Closure.objects.filter(institution=institution_a, office=None, date=closed).count() == 1
    assert closure.reason == "Inventario anual"
    assert not is_business_day(closed, institution=institution_a)
    assert business_days_after(D(2026, 3, 3), 1, institution=institution_a) == D(2026, 3, 5)
    assert is_business_day(closed, institution=institution_b)
    assert business_days_after(D(2026, 3, 3), 1, institution=institution_b) == closed
    # A national calendar with no institution knows nothing about A's closures.
    assert is_business_day(closed, institution=None)

    entry = AuditEntry.objects.get(action="closure.declare")
    assert entry.actor == bob
    assert entry.actor_label == "bob"
    assert entry.institution == institution_a
    assert entry.target_type == "core.closure"
    assert entry.target_id == str(closure.pk)
    assert entry.after is not None
    assert entry.after["date"] == "2026-03-04"
    assert entry.after["reason"] == "Inventario anual"


def test_charlie_cannot_declare_a_closure_for_a(charlie: Any, institution_a: Institution) -> None:
    with pytest.raises(Forbidden):
        closure_declare(actor=charlie, institution=institution_a, date=D(2026, 3, 4), reason="Intento")
    assert not Closure.objects.exists()
    assert not AuditEntry.objects.filter(action="closure.declare").exists()
    assert is_business_day(D(2026, 3, 4), institution=institution_a)


def test_citizen_and_anonymous_cannot_declare_closures(alice: Any, institution_a: Institution) -> None:
    from django.contrib.auth.models import AnonymousUser

    for actor in (alice, AnonymousUser()):
        with pytest.raises(Forbidden):
            closure_declare(actor=actor, institution=institution_a, date=D(2026, 3, 4), reason="Intento")
    assert not Closure.objects.exists()


def test_closure_requires_a_reason(bob: Any, institution_a: Institution) -> None:
    with pytest.raises(DomainError) as excinfo:
        closure_declare(actor=bob, institution=institution_a, date=D(2026, 3, 4), reason="   ")
    assert excinfo.value.field == "reason"
    assert not Closure.objects.exists()


def test_office_closure_applies_only_to_that_office(
    bob: Any, institution_a: Institution, office_a_sede: Office, office_a_alto: Office
) -> None:
    closed = D(2026, 3, 4)
    closure_declare(
        actor=bob, institution=institution_a, office=office_a_sede, date=closed, reason="Fumigación"
    )

    assert not is_business_day(closed, institution=institution_a, office=office_a_sede)
    assert not is_business_day(closed, institution=None, office=office_a_sede)
    assert is_business_day(closed, institution=institution_a, office=office_a_alto)
    assert is_business_day(closed, institution=institution_a)  # institution-wide calendar
    assert business_days_after(D(2026, 3, 3), 1, institution=institution_a, office=office_a_sede) == D(
        2026, 3, 5
    )
    assert business_days_after(D(2026, 3, 3), 1, institution=institution_a, office=office_a_alto) == closed


def test_institution_closure_applies_to_every_office(
    bob: Any, institution_a: Institution, office_a_sede: Office, office_a_alto: Office
) -> None:
    closed = D(2026, 3, 4)
    closure_declare(actor=bob, institution=institution_a, date=closed, reason="Inventario")
    for office in (office_a_sede, office_a_alto):
        assert not is_business_day(closed, institution=institution_a, office=office)


def test_closure_for_an_office_of_another_institution_is_refused(
    agency: Any, institution_a: Institution, institution_b: Institution
) -> None:
    office_b = Office.objects.get(code="INSTB-SEDE")
    with pytest.raises(DomainError) as excinfo:
        closure_declare(
            actor=agency, institution=institution_a, office=office_b, date=D(2026, 3, 4), reason="Error"
        )
    assert excinfo.value.code == "office_owner"
    assert not Closure.objects.exists()


def test_one_calendar_sees_closures_far_beyond_its_first_window(bob: Any, institution_a: Institution) -> None:
    """A calendar reused over a long span (more than its read-ahead window) still sees every closure."""
    closures = {D(2026, 3, 4), D(2026, 9, 15), D(2026, 11, 3)}
    for day in closures:
        closure_declare(actor=bob, institution=institution_a, date=day, reason="Cierre")

    calendar = BusinessCalendar(institution=institution_a)
    assert not calendar.is_business_day(D(2026, 3, 4))
    assert not calendar.is_business_day(D(2026, 11, 3))
    assert not calendar.is_business_day(D(2026, 9, 15))

    # Oracle: count working days independently with the holidays package.
    expected, counted = D(2026, 3, 2), 0
    while counted < 180:
        expected += dt.timedelta(days=1)
        if expected.weekday() < 5 and expected not in BO_NATIONAL_2026 and expected not in closures:
            counted += 1
    assert BusinessCalendar(institution=institution_a).add_business_days(D(2026, 3, 2), 180) == expected
    assert business_days_after(D(2026, 3, 2), 180, institution=institution_a) == expected


# -- n = 0, time zones, counting, bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (D(2026, 3, 8), D(2026, 3, 9)),  # Sunday → Monday
        (D(2026, 3, 7), D(2026, 3, 9)),  # Saturday → Monday
        (D(2026, 3, 4), D(2026, 3, 4)),  # a working day is its own answer
        (D(2026, 8, 6), D(2026, 8, 7)),  # holiday → next working day
    ],
)
def test_zero_days_gives_the_next_working_day_on_or_after_start(
    db: Any, start: dt.date, expected: dt.date
) -> None:
    assert business_days_after(start, 0, institution=None) == expected


def test_aware_datetimes_are_read_in_la_paz_local_time(db: Any) -> None:
    # 02:00 UTC on Tuesday 3 March is 22:00 on Monday 2 March in La Paz (UTC-4).
    late_monday = dt.datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    assert business_days_after(late_monday, 0, institution=None) == D(2026, 3, 2)
    assert business_days_after(late_monday, 1, institution=None) == D(2026, 3, 3)
    # 02:00 UTC on Saturday 7 March is still Friday 6 March locally: a working day.
    late_friday = dt.datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
    assert business_days_after(late_friday, 0, institution=None) == D(2026, 3, 6)
    assert business_days_after(late_friday, 1, institution=None) == D(2026, 3, 9)
    # Early morning UTC that is already the same local day is unchanged.
    assert business_days_after(dt.datetime(2026, 3, 3, 14, 0, tzinfo=UTC), 0, institution=None) == D(
        2026, 3, 3
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2026, 3, 6), D(2026, 3, 9), 1),  # Friday → Monday: only Monday counts
        (D(2026, 3, 2), D(2026, 3, 9), 5),
        (D(2026, 3, 9), D(2026, 3, 2), 0),  # end before start
        (D(2026, 3, 4), D(2026, 3, 4), 0),
        (D(2026, 8, 3), D(2026, 8, 10), 4),  # Tue, Wed, Fri, Mon (Thursday 6 August is a holiday)
        (dt.datetime(2026, 3, 3, 2, 0, tzinfo=UTC), dt.datetime(2026, 3, 4, 15, 0, tzinfo=UTC), 2),
    ],
)
def test_business_days_between(db: Any, start: Any, end: Any, expected: int) -> None:
    assert BusinessCalendar().business_days_between(start, end) == expected


def test_business_days_between_is_the_inverse_of_business_days_after(
    bob: Any, institution_a: Institution
) -> None:
    closure_declare(actor=bob, institution=institution_a, date=D(2026, 8, 4), reason="Cierre")
    calendar = BusinessCalendar(institution=institution_a)
    start = D(2026, 7, 31)
    for n in range(1, 30):
        due = business_days_after(start, n, institution=institution_a)
        assert calendar.business_days_between(start, due) == n


def test_negative_days_are_refused(db: Any) -> None:
    with pytest.raises(ValueError, match="days"):
        business_days_after(D(2026, 3, 2), -1, institution=None)


# -- another country --------------------------------------------------------------------------------------


def test_paraguay_installation_uses_paraguayan_holidays(db: Any) -> None:
    # Bolivia: 14 and 15 May 2026 are ordinary working days.
    assert is_business_day(D(2026, 5, 15), institution=None)
    assert business_days_after(D(2026, 5, 13), 1, institution=None) == D(2026, 5, 14)
    with override_settings(COUNTRY_PACK=get_pack("PY")):
        assert not is_business_day(D(2026, 5, 15), institution=None)  # Independencia
        assert not is_business_day(D(2026, 5, 14), institution=None)
        assert business_days_after(D(2026, 5, 13), 1, institution=None) == D(2026, 5, 18)
        # Bolivian holidays do not apply in Paraguay.
        assert is_business_day(D(2026, 8, 6), institution=None)
        assert is_business_day(D(2026, 1, 22), institution=None)
