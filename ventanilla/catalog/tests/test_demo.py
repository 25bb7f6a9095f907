"""The demo data sets (Bolivia and Paraguay) load through the real services, obey every rule and are
idempotent."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from ventanilla.catalog.demo_loader import DEMO_ROOT, load_demo
from ventanilla.catalog.models import Channel, Procedure, ProcedureVersion, Requirement, Simplification
from ventanilla.core.countries import get_pack
from ventanilla.core.models import AuditEntry, Institution, Membership, Office

pytestmark = pytest.mark.django_db

COUNTED = [
    Procedure,
    Requirement,
    Channel,
    ProcedureVersion,
    AuditEntry,
    Institution,
    Office,
    Simplification,
    Membership,
    get_user_model(),
]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def demo_statuses(country: str) -> Counter[str]:
    statuses: Counter[str] = Counter()
    for path in sorted((DEMO_ROOT / country).glob("procedures*.json")):
        statuses.update(record.get("status") or "borrador" for record in json.loads(path.read_text("utf-8")))
    return statuses


def test_bolivian_demo_loads_and_is_idempotent() -> None:
    first = load_demo()
    counts = row_counts()
    assert counts["Institution"] >= 30
    assert counts["Procedure"] >= 150
    assert counts["Office"] >= counts["Institution"]
    assert counts["Simplification"] >= 1
    assert first.procedures_created == counts["Procedure"]
    assert first.procedures_updated == first.procedures_unchanged == 0
    published = Procedure.objects.filter(status=Procedure.Status.PUBLISHED).count()
    assert published >= 150
    # The status written in the files is the status in the database.
    assert Counter(Procedure.objects.values_list("status", flat=True)) == demo_statuses("bo")
    assert not Procedure.objects.filter(status=Procedure.Status.PUBLISHED, published_at__isnull=True).exists()

    second = load_demo()
    assert row_counts() == counts  # nothing created, no new version, no new audit row
    assert second.procedures_created == second.procedures_updated == 0
    assert second.procedures_unchanged == counts["Procedure"]


def test_every_demo_procedure_is_complete() -> None:
    load_demo()
    procedures = Procedure.objects.prefetch_related("channels", "requirements").select_related("institution")
    for procedure in procedures:
        assert procedure.summary.strip(), procedure.slug
        assert procedure.channels.all(), procedure.slug
        assert procedure.search_document and procedure.search_stems.strip(), procedure.slug
        if procedure.is_free:
            assert procedure.cost_amount is None and procedure.currency == ""
        else:
            assert procedure.currency == "BOB" and procedure.cost_amount is not None, procedure.slug
    # Offices named in channels belong to the procedure's institution (checked by the services; verify it).
    for channel in Channel.objects.select_related("procedure").prefetch_related("offices"):
        assert all(o.institution_id == channel.procedure.institution_id for o in channel.offices.all())
    assert Procedure.objects.filter(slug="licencia-de-conducir", status=Procedure.Status.PUBLISHED).exists()


def test_demo_accounts_have_their_roles() -> None:
    report = load_demo()
    assert report.users >= 1
    users = json.loads((DEMO_ROOT / "bo" / "users.json").read_text("utf-8"))
    for item in users:
        user = get_user_model().objects.get(username=item["username"])
        assert user.has_usable_password()
        expected = {(r["role"], r.get("institution")) for r in item.get("roles", [])}
        actual = {(m.role, m.institution.code if m.institution else None) for m in user.memberships.all()}
        assert actual == expected, item["username"]


def test_demo_simplifications_are_consistent() -> None:
    load_demo()
    for item in Simplification.objects.select_related("procedure"):
        assert item.citizen_days_saved == max(item.days_before - item.days_after, 0) * item.annual_volume
        assert item.money_saved >= 0


def test_paraguayan_demo_loads_in_guaranies() -> None:
    with override_settings(COUNTRY_PACK=get_pack("PY")):
        load_demo(country_dir="py")
        counts = row_counts()
        assert counts["Institution"] >= 20
        assert counts["Procedure"] >= 100
        assert not Procedure.objects.filter(currency="BOB").exists()
        paid = Procedure.objects.filter(is_free=False)
        assert paid.exists()
        assert set(paid.values_list("currency", flat=True)) == {"PYG"}
        assert all(amount == amount.to_integral() for amount in paid.values_list("cost_amount", flat=True))
        assert not Procedure.objects.filter(is_free=True).exclude(currency="").exists()
        assert Counter(Procedure.objects.values_list("status", flat=True)) == demo_statuses("py")
        for procedure in Procedure.objects.prefetch_related("channels"):
            assert procedure.summary.strip() and procedure.channels.all(), procedure.slug
        sample = paid.first()
        assert sample is not None and sample.cost_display.startswith("₲ ")

        load_demo(country_dir="py")
        assert row_counts() == counts


def test_paraguayan_data_is_rejected_by_a_bolivian_installation() -> None:
    """The currency rule is enforced by the services: PYG costs do not load under the Bolivian pack."""
    from ventanilla.core.errors import DomainError

    with pytest.raises(DomainError) as excinfo:
        load_demo(country_dir="py")
    assert excinfo.value.code == "demo_invalid"
    assert "La moneda debe ser BOB" in excinfo.value.message
    assert Procedure.objects.count() == 0  # all or nothing
    assert Institution.objects.count() == 0


def test_demo_money_is_formatted_for_the_country() -> None:
    load_demo()
    assert Procedure.objects.get(slug="licencia-de-conducir").cost_display == "Bs 330,00"
    assert Procedure.objects.get(slug="permanencia-definitiva").cost_display == "Bs 2.000,00"
