"""Demo data of the inbox: notifications for the demo citizens, message templates for two institutions and
one Notify-compatible API key (its full key is printed in the report lines). Idempotent."""

from __future__ import annotations

from django.conf import settings

from ventanilla.core.models import Institution
from ventanilla.identity.account_selectors import document_parse, person_find_by_document
from ventanilla.identity.demo_people import PEOPLE

from . import keys, services
from .models import ApiKey, MessageTemplate, Notification

DEMO_KEY_NAME = "demo_integracion"

TEMPLATES = [
    {
        "name": "Trámite listo para recoger",
        "channel": "email",
        "subject": "Su trámite ((codigo)) está listo",
        "body": (
            "Hola ((nombre)):\n\nSu trámite ((codigo)) está listo. Puede recogerlo en ((oficina)) "
            "presentando su documento de identidad.\n\nEste es un mensaje automático."
        ),
    },
    {
        "name": "Recordatorio de cita (SMS)",
        "channel": "sms",
        "subject": "",
        "body": "Recuerde su cita del ((fecha)) a las ((hora)) en ((oficina)). Código ((codigo)).",
    },
]

NOTIFICATIONS = [
    {
        "subject": "Resolución sobre su solicitud",
        "body": (
            "Se resolvió aprobar su solicitud. Puede presentar un recurso de revocatoria dentro de los "
            "10 días hábiles siguientes a esta notificación."
        ),
        "legal": True,
        "case_reference": "DEMO-RES-0001",
    },
    {
        "subject": "Su documento está listo",
        "body": (
            "Su documento ya puede ser recogido en la oficina central, de lunes a viernes de 8:30 a 16:30."
        ),
        "legal": False,
        "case_reference": "DEMO-AVI-0002",
    },
]


def load_demo_inbox() -> list[str]:
    institutions = list(Institution.objects.filter(is_active=True).order_by("code")[:2])
    if not institutions:
        return ["Notificaciones: sin instituciones de demostración (cargue primero el catálogo)."]
    people = []
    for entry in PEOPLE.get(settings.COUNTRY_PACK.code, []):
        document, _errors = document_parse(*entry["document"])
        person = person_find_by_document(document=document) if document else None
        if person is not None:
            people.append(person)
    sent = 0
    for person in people:
        for number, data in enumerate(NOTIFICATIONS):
            institution = institutions[number % len(institutions)]
            reference = f"{data['case_reference']}-{person.document_number}"
            if Notification.objects.filter(person=person, case_reference=reference).exists():
                continue
            services.notification_send(
                actor=None,
                institution_id=institution.pk,
                person_id=person.pk,
                subject=str(data["subject"]),
                body=str(data["body"]),
                legal=bool(data["legal"]),
                case_reference=reference,
            )
            sent += 1
    for institution in institutions:
        for data in TEMPLATES:
            if not MessageTemplate.objects.filter(institution=institution, name=data["name"]).exists():
                services.template_save(actor=None, institution_id=institution.pk, **data)
    institution = institutions[0]
    api_key = ApiKey.objects.filter(
        institution=institution, name=DEMO_KEY_NAME, revoked_at__isnull=True
    ).first()
    if api_key is None:
        api_key, full = services.api_key_create(actor=None, institution_id=institution.pk, name=DEMO_KEY_NAME)
    else:
        full = keys.full_key(
            api_key.name, api_key.service_id, keys.secret_decrypt(api_key.secret_encrypted) or ""
        )
    template = (
        MessageTemplate.objects.filter(institution=institution, channel="email").order_by("name").first()
    )
    return [
        f"Notificaciones: {sent} nuevas para {len(people)} personas de demostración; "
        f"plantillas en {len(institutions)} instituciones.",
        f"  Clave de API (GOV.UK Notify) de {institution.code}: {full}",
        f"  template_id de correo: {template.pk if template else '—'}",
    ]
