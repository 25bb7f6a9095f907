"""Fixtures for the account tests: citizens with a person, registrars (clerks) of institutions A and B,
the SMS outbox, a sign-in helper and an HTML page checker."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from ventanilla.core.models import Membership, Role

PASSWORD = "Cordillera-Real-2024"


# -- people -----------------------------------------------------------------------------------------------


def make_citizen(
    username: str,
    *,
    number: str,
    first_names: str = "Juana",
    first_surname: str = "Quispe",
    second_surname: str = "Mamani",
    birth_date: dt.date | None = dt.date(1990, 5, 17),
    email: str = "",
    mobile: str = "+59171234567",
    complement: str = "",
    level: str = "basico",
) -> Any:
    from django.contrib.auth import get_user_model

    from ventanilla.identity.models import Person

    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=email or f"{username.lower()}@example.org"
    )
    Person.objects.create(
        user=user,
        document_type="CI",
        document_number=number,
        document_complement=complement,
        first_names=first_names,
        first_surname=first_surname,
        second_surname=second_surname,
        birth_date=birth_date,
        email=user.email,
        email_verified=True,
        email_source="codigo",
        mobile=mobile,
        mobile_verified=True,
        mobile_source="codigo",
        assurance_level=level,
    )
    return user


@pytest.fixture
def citizen(db: Any) -> Any:
    """Juana Quispe Mamani, CI 4567891 (in the demo civil registry), level básico."""
    return make_citizen("CI-4567891", number="4567891", email="juana@example.org")


@pytest.fixture
def alice_person(alice: Any) -> Any:
    from ventanilla.identity.models import Person

    alice.email = "alice@example.org"
    alice.save(update_fields=["email"])
    return Person.objects.create(
        user=alice,
        document_type="CI",
        document_number="5550001",
        first_names="Alicia",
        first_surname="Mamani",
        birth_date=dt.date(1992, 2, 2),
        email="alice@example.org",
    )


@pytest.fixture
def charlie_person(charlie: Any) -> Any:
    from ventanilla.identity.models import Person

    return Person.objects.create(
        user=charlie,
        document_type="CI",
        document_number="5550003",
        first_names="Carlos",
        first_surname="Pérez",
    )


def _clerk(username: str, institution: Any) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    Membership.objects.create(user=user, institution=institution, role=Role.CLERK)
    return user


@pytest.fixture
def registrar_a(institution_a: Any) -> Any:
    return _clerk("registrador-a", institution_a)


@pytest.fixture
def registrar_b(institution_b: Any) -> Any:
    return _clerk("registrador-b", institution_b)


# -- outboxes and helpers ---------------------------------------------------------------------------------


@pytest.fixture
def sms_outbox() -> Iterator[list[Any]]:
    from ventanilla.identity import sms

    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def sign_in() -> Callable[..., Client]:
    """Sign in through the real form; returns the client (its session is a real signed-in session)."""

    def _sign_in(identifier: str, password: str = PASSWORD, **client_kwargs: Any) -> Client:
        client = Client(**client_kwargs)
        response = client.post("/cuenta/ingresar/", {"identifier": identifier, "password": password})
        assert response.status_code == 302, response.content.decode()[:2000]
        return client

    return _sign_in


class _Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == name]


@pytest.fixture
def check_page() -> Callable[[Any], None]:
    """200, ``lang="es"``, exactly one ``<h1>``, every visible input labelled, nothing the CSP blocks."""

    def _check(response: Any) -> None:
        assert response.status_code == 200, response.status_code
        html = response.content.decode()
        page = _Page(html)
        assert [t.get("lang") for t in page.all("html")] == ["es"]
        assert len(page.all("h1")) == 1, re.findall(r"<h1.*?</h1>", html, re.S)
        labelled = {label.get("for") for label in page.all("label")}
        for tag in ("input", "select", "textarea"):
            for attrs in page.all(tag):
                if attrs.get("type") in {"hidden", "submit", "button"}:
                    continue
                assert attrs.get("id") in labelled or attrs.get("aria-label"), (tag, attrs)
        assert not [attrs for _tag, attrs in page.tags if "style" in attrs]
        assert not [attrs for _tag, attrs in page.tags if any(name.startswith("on") for name in attrs)]

    return _check
