"""Every inbox page: one h1, labelled inputs, nothing the CSP blocks; lists with constant queries."""

from __future__ import annotations

from typing import Any

from conftest import login, member
from ventanilla.core.models import Role
from ventanilla.inbox import services


def _send(institution: Any, person: Any, number: int, capture: Any) -> Any:
    with capture(execute=False):
        return services.notification_send(
            actor=None,
            institution_id=institution.pk,
            person_id=person.pk,
            subject=f"Aviso {number}",
            body="Texto",
            legal=bool(number % 2),
        )


def test_pages_are_accessible(
    check_page: Any,
    juana: Any,
    juana_person: Any,
    institution_a: Any,
    bob: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    notification = _send(institution_a, juana_person, 1, django_capture_on_commit_callbacks)
    template = services.template_save(
        actor=None,
        institution_id=institution_a.pk,
        name="T",
        channel="email",
        subject="S ((a))",
        body="B ((b))",
    )
    citizen = login(juana)
    check_page(citizen.get("/cuenta/notificaciones/"))
    check_page(citizen.get("/cuenta/notificaciones/?archivadas=1"))
    check_page(citizen.get(f"/cuenta/notificaciones/{notification.uuid}/"))
    staff = login(bob)
    for url in (
        "/gestion/notificaciones/",
        "/gestion/notificaciones/nueva/",
        f"/gestion/notificaciones/{notification.uuid}/",
        "/gestion/notificaciones/plantillas/",
        "/gestion/notificaciones/plantillas/nueva/",
        f"/gestion/notificaciones/plantillas/{template.pk}/",
        "/gestion/notificaciones/claves/",
    ):
        check_page(staff.get(url))
    # the back-office navigation links here for institution staff
    assert 'href="/gestion/notificaciones/"' in staff.get("/gestion/notificaciones/").content.decode()
    assert 'href="/cuenta/notificaciones/"' in citizen.get("/cuenta/notificaciones/").content.decode()


def test_back_office_list_has_constant_queries(
    juana_person: Any,
    institution_a: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    clerk = login(member("clerk-a", Role.CLERK, institution_a))
    _send(institution_a, juana_person, 0, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(20) as few:
        assert clerk.get("/gestion/notificaciones/").status_code == 200
    for number in range(1, 12):
        _send(institution_a, juana_person, number, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert clerk.get("/gestion/notificaciones/").status_code == 200


def test_outbox_page_lists_only_own_messages_without_content(
    check_page: Any,
    bob: Any,
    charlie: Any,
    institution_a: Any,
    institution_b: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.message_queue(
            institution_id=institution_a.pk,
            channel="email",
            to="de-a@example.org",
            subject="S",
            body="secreto A",
        )
        services.message_queue(
            institution_id=institution_b.pk, channel="email", to="de-b@example.org", subject="S", body="B"
        )
    staff = login(bob)
    with django_assert_max_num_queries(12):
        page = staff.get("/gestion/notificaciones/mensajes/")
    check_page(page)
    html = page.content.decode()
    assert "de-a@example.org" in html and "de-b@example.org" not in html and "secreto A" not in html
    assert (
        "de-a@example.org"
        not in staff.get("/gestion/notificaciones/mensajes/?estado=failed").content.decode()
    )
    assert "de-b@example.org" in login(charlie).get("/gestion/notificaciones/mensajes/").content.decode()
