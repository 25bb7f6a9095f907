"""Tables of the interoperability mediator: the member registry (members, subsystems, services), access
rights, citizens' consents, the append-only message log with its hash chain, and the chain seals.

Identifiers follow X-Road's shape without the instance and member class (one installation is one
country): a member is an institution (member code = institution code), a subsystem is one of its
information systems, a service is ``MEMBER/SUBSYSTEM/SERVICE``.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

part_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$",
    _("Use de 1 a 50 letras, números, guiones o guiones bajos (sin espacios)."),
    code="invalid_code",
)


def new_provider_secret() -> str:
    return secrets.token_urlsafe(32)


class Member(models.Model):
    """An institution taking part in the exchange (its member code is the institution's code)."""

    institution = models.OneToOneField(
        "core.Institution", on_delete=models.PROTECT, related_name="interop_member"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["institution__code"]
        verbose_name = _("miembro")
        verbose_name_plural = _("miembros")

    def __str__(self) -> str:
        return self.institution.code

    @property
    def code(self) -> str:
        return self.institution.code


class Subsystem(models.Model):
    """An information system of a member: it provides services, consumes them, or both."""

    class Kind(models.TextChoices):
        PROVIDER = "proveedor", _("Proveedor")
        CONSUMER = "consumidor", _("Consumidor")
        BOTH = "ambos", _("Proveedor y consumidor")

    class Status(models.TextChoices):
        ACTIVE = "activo", _("Activo")
        SUSPENDED = "suspendido", _("Suspendido")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="subsystems")
    code = models.CharField(_("código"), max_length=50, validators=[part_validator])
    name = models.CharField(_("nombre"), max_length=200)
    description = models.TextField(_("descripción"), blank=True)
    kind = models.CharField(_("tipo"), max_length=12, choices=Kind.choices, default=Kind.BOTH)
    status = models.CharField(_("estado"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # The OAuth2 client-credentials application whose tokens authenticate this subsystem as a consumer.
    oauth_application = models.OneToOneField(
        "oauth2_provider.Application",
        verbose_name=_("aplicación cliente (credenciales de cliente)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interop_subsystem",
    )
    rate_limit = models.PositiveIntegerField(
        _("límite de llamadas por minuto"),
        null=True,
        blank=True,
        help_text=_("Vacío: el límite general de la plataforma (nunca se supera ese límite)."),
    )
    # Suspended by the platform agency: only the agency may reactivate it.
    suspended_by_platform = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["member__institution__code", "code"]
        verbose_name = _("subsistema")
        verbose_name_plural = _("subsistemas")
        constraints = [models.UniqueConstraint(fields=["member", "code"], name="interop_subsystem_unique")]

    def __str__(self) -> str:
        return self.identifier

    @property
    def identifier(self) -> str:
        return f"{self.member.institution.code}/{self.code}"

    @property
    def institution_id(self) -> int:
        return self.member.institution_id

    @property
    def consumes(self) -> bool:
        return self.kind in (self.Kind.CONSUMER, self.Kind.BOTH)

    @property
    def provides(self) -> bool:
        return self.kind in (self.Kind.PROVIDER, self.Kind.BOTH)


class Service(models.Model):
    """A REST service published by a provider subsystem; calls go to ``base_url`` + the path asked."""

    class Classification(models.TextChoices):
        PUBLIC = "publica", _("Pública")
        INTERNAL = "interna", _("De uso interno")
        PERSONAL = "personal", _("Datos personales")
        SENSITIVE = "sensible", _("Datos personales sensibles")

    class Status(models.TextChoices):
        DRAFT = "borrador", _("Borrador")
        ACTIVE = "activo", _("Activo")
        SUSPENDED = "suspendido", _("Suspendido")
        RETIRED = "retirado", _("Retirado")

    subsystem = models.ForeignKey(Subsystem, on_delete=models.PROTECT, related_name="services")
    code = models.CharField(_("código"), max_length=50, validators=[part_validator])
    version = models.CharField(_("versión"), max_length=20, default="v1")
    name = models.CharField(_("nombre"), max_length=200)
    description = models.TextField(_("descripción"), blank=True)
    base_url = models.URLField(_("URL base del proveedor"), max_length=500)
    openapi = models.JSONField(_("documento OpenAPI"), default=dict, blank=True)
    classification = models.CharField(
        _("clasificación de los datos"),
        max_length=12,
        choices=Classification.choices,
        default=Classification.INTERNAL,
    )
    personal_data = models.CharField(
        _("datos personales que devuelve"),
        max_length=400,
        blank=True,
        help_text=_(
            "Vacío si no devuelve datos de personas. Se muestra al ciudadano en «¿Quién usó mis datos?»."
        ),
    )
    legal_basis = models.CharField(_("base legal"), max_length=400, blank=True)
    needs_consent = models.BooleanField(_("requiere consentimiento del ciudadano"), default=False)
    confidential_by_law = models.BooleanField(
        _("reservado por ley"),
        default=False,
        help_text=_("Las consultas no se muestran en «¿Quién usó mis datos?» (p. ej., investigaciones)."),
    )
    status = models.CharField(_("estado"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    timeout_seconds = models.FloatField(
        _("tiempo máximo de espera (segundos)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(300)],
        help_text=_("Vacío: el valor general de la plataforma."),
    )
    log_bodies = models.BooleanField(_("guardar los cuerpos de los mensajes en el registro"), default=False)
    provider_secret = models.CharField(max_length=100, default=new_provider_secret, editable=False)
    # Set only by the demo loader: which demo registry of this platform (providers.py) this service is;
    # those registries accept only the secrets of services marked so.
    demo_registry = models.CharField(max_length=10, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subsystem__member__institution__code", "subsystem__code", "code"]
        verbose_name = _("servicio")
        verbose_name_plural = _("servicios")
        constraints = [models.UniqueConstraint(fields=["subsystem", "code"], name="interop_service_unique")]

    def __str__(self) -> str:
        return self.identifier

    @property
    def identifier(self) -> str:
        return f"{self.subsystem.identifier}/{self.code}"

    @property
    def is_personal(self) -> bool:
        return bool(self.personal_data.strip())


class AccessRight(models.Model):
    """The provider lets a consumer subsystem call a service (or some of its operations) on a legal basis."""

    class Status(models.TextChoices):
        REQUESTED = "solicitado", _("Solicitado")
        APPROVED = "aprobado", _("Aprobado")
        REJECTED = "rechazado", _("Rechazado")
        REVOKED = "revocado", _("Revocado")

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="access_rights")
    consumer = models.ForeignKey(Subsystem, on_delete=models.PROTECT, related_name="access_rights")
    # One "METHOD /path-pattern" per line (``*`` matches within one path segment, ``**`` across segments);
    # empty means every operation.
    operations = models.TextField(_("operaciones permitidas"), blank=True)
    purpose = models.CharField(_("finalidad"), max_length=200)
    legal_basis = models.CharField(_("base legal"), max_length=400)
    expires_at = models.DateTimeField(_("vence"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=12, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(_("comentario"), max_length=400, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("derecho de acceso")
        verbose_name_plural = _("derechos de acceso")
        indexes = [models.Index(fields=["consumer", "service", "status"])]

    def __str__(self) -> str:
        return f"{self.consumer} → {self.service}"

    def is_in_force(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.status == self.Status.APPROVED and (self.expires_at is None or self.expires_at > at)

    def purpose_list(self) -> list[str]:
        """The purposes this right allows (one per line or separated by «;»)."""
        return [p.strip() for p in self.purpose.replace(";", "\n").splitlines() if p.strip()]

    def operation_list(self) -> list[tuple[str, str]]:
        found = []
        for line in self.operations.splitlines():
            parts = line.split()
            if len(parts) == 2:
                found.append((parts[0].upper(), parts[1]))
            elif len(parts) == 1:
                found.append(("*", parts[0]))
        return found


class InteropConsent(models.Model):
    """A citizen lets a consumer subsystem obtain their data from a service, for one purpose."""

    person = models.ForeignKey("identity.Person", on_delete=models.CASCADE, related_name="interop_consents")
    consumer = models.ForeignKey(Subsystem, on_delete=models.PROTECT, related_name="consents")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("finalidad"), max_length=200)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("vence"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-pk"]
        verbose_name = _("consentimiento de intercambio")
        verbose_name_plural = _("consentimientos de intercambio")
        indexes = [models.Index(fields=["person", "consumer", "service"])]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.consumer} → {self.service} ({self.purpose})"

    def is_valid(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.withdrawn_at is None and (self.expires_at is None or self.expires_at > at)


class LogHead(models.Model):
    """One row: the chain's last sequence number and hash. Locked while appending, so entries are chained
    in a single order even with many app processes."""

    seq = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default="")

    class Meta:
        verbose_name = _("cabeza de la cadena")

    def __str__(self) -> str:
        return f"#{self.seq}"


class MessageLogEntryQuerySet(models.QuerySet["MessageLogEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("El registro de mensajes es de solo anexado.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("El registro de mensajes es de solo anexado.")


class MessageLogEntry(models.Model):
    """One exchange through the mediator. Append-only (here and by database triggers); each entry carries
    the previous entry's hash, so rewriting any past entry breaks the chain."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    request_id = models.CharField(max_length=64, db_index=True)
    client = models.CharField(max_length=120)
    service_id_text = models.CharField(max_length=200)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="log_entries"
    )
    consumer = models.ForeignKey(
        Subsystem, null=True, blank=True, on_delete=models.PROTECT, related_name="log_entries"
    )
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)
    purpose = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=60, blank=True)
    user = models.CharField(max_length=150, blank=True)
    status = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=40)
    latency_ms = models.PositiveIntegerField(default=0)
    request_hash = models.CharField(max_length=64)
    response_hash = models.CharField(max_length=64)
    request_body = models.BinaryField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    # How entry_hash was computed: None (first entries) = version 1; 2 adds service and consumer ids.
    digest_version = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = MessageLogEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("entrada del registro de mensajes")
        verbose_name_plural = _("registro de mensajes")
        indexes = [models.Index(fields=["service", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.client} → {self.service_id_text} {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("El registro de mensajes es de solo anexado.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("El registro de mensajes es de solo anexado.")


class ChainSealQuerySet(models.QuerySet["ChainSeal"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Los sellos del registro son de solo anexado.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Los sellos del registro son de solo anexado.")


class ChainSeal(models.Model):
    """The platform's signature over the chain head at a moment (RSA PKCS#1 v1.5, SHA-256). Append-only
    (here and by database triggers)."""

    created_at = models.DateTimeField(default=timezone.now)
    seq = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    key_fingerprint = models.CharField(max_length=64)
    signature = models.TextField()

    objects = ChainSealQuerySet.as_manager()

    class Meta:
        ordering = ["-seq", "-pk"]
        verbose_name = _("sello de la cadena")
        verbose_name_plural = _("sellos de la cadena")

    def __str__(self) -> str:
        return f"#{self.seq} {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Los sellos del registro son de solo anexado.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Los sellos del registro son de solo anexado.")
