"""Ciudadanía Digital: accounts, the citizen identity (Person) and its levels of assurance, MFA, sessions,
registered relying-party applications, consent and the data-use log ("¿Quién usó mis datos?")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ventanilla.core.models import AssuranceLevel

__all__ = ["AssuranceLevel"]


class User(AbstractUser):
    """One account per person. ``uuid`` is the account's public id (never the database id)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("correo electrónico"), blank=True)

    class Meta:
        verbose_name = _("cuenta")
        verbose_name_plural = _("cuentas")
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        full = self.get_full_name()
        return full or self.username


ASSURANCE_ORDER: dict[str, int] = {AssuranceLevel.BASICO.value: 1, AssuranceLevel.VERIFICADO.value: 2}


class DataSource(models.TextChoices):
    DECLARED = "declarado", _("Declarado por la persona")
    CODE = "codigo", _("Verificado con código")
    REGISTRAR = "registrador", _("Verificado en oficina de registro")
    CIVIL_REGISTRY = "registro_civil", _("Registro civil")


class Person(models.Model):
    """A citizen or resident as the State knows them. May exist before they have an account (a clerk
    files an application for them by document number); ``sub`` in OIDC is ``uuid``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="person"
    )
    document_type = models.CharField(_("tipo de documento"), max_length=10)
    document_number = models.CharField(_("número de documento"), max_length=20)
    document_complement = models.CharField(_("complemento"), max_length=4, blank=True)
    document_department = models.CharField(_("expedido en"), max_length=4, blank=True)
    first_names = models.CharField(_("nombres"), max_length=120)
    first_surname = models.CharField(_("primer apellido"), max_length=80, blank=True)
    second_surname = models.CharField(_("segundo apellido"), max_length=80, blank=True)
    names_source = models.CharField(max_length=20, choices=DataSource.choices, default=DataSource.DECLARED)
    birth_date = models.DateField(_("fecha de nacimiento"), null=True, blank=True)
    email = models.EmailField(_("correo electrónico"), blank=True)
    email_verified = models.BooleanField(default=False)
    email_source = models.CharField(max_length=20, choices=DataSource.choices, default=DataSource.DECLARED)
    mobile = models.CharField(_("celular"), max_length=20, blank=True)
    mobile_verified = models.BooleanField(default=False)
    mobile_source = models.CharField(max_length=20, choices=DataSource.choices, default=DataSource.DECLARED)
    assurance_level = models.CharField(
        _("nivel de seguridad"), max_length=12, choices=AssuranceLevel.choices, default=AssuranceLevel.BASICO
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(max_length=20, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification_office = models.ForeignKey(
        "core.Office", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("persona")
        verbose_name_plural = _("personas")
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "document_number", "document_complement"],
                name="person_unique_document",
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_names, self.first_surname, self.second_surname) if p)

    @property
    def document_display(self) -> str:
        number = self.document_number + (f"-{self.document_complement}" if self.document_complement else "")
        return f"{self.document_type} {number}"

    def meets(self, level: str) -> bool:
        return ASSURANCE_ORDER.get(self.assurance_level, 0) >= ASSURANCE_ORDER.get(level, 99)


class VerificationCode(models.Model):
    """A one-time code (only its hash is stored): sent by e-mail or SMS to confirm a contact detail, or
    shown in Mi cuenta for the citizen to tell a registrar at the desk (``destination`` empty)."""

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verificar_correo", _("Verificar correo")
        VERIFY_MOBILE = "verificar_celular", _("Verificar celular")
        IN_PERSON = "presencial", _("Verificación presencial")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="codes")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    destination = models.CharField(max_length=254, blank=True)
    code_hash = models.CharField(max_length=128)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["person", "purpose", "created_at"]),
            models.Index(fields=["destination", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.purpose}"


class TotpDevice(models.Model):
    """Authenticator app (RFC 6238). The secret is encrypted at rest; the last used step blocks replay."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp")
    secret_encrypted = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"TOTP {self.user_id}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"recovery {self.user_id}"


class AuthFailure(models.Model):
    """Failed sign-in attempts, counted per account and per IP address for brute-force protection."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} {self.ip_address} {self.created_at:%Y-%m-%d %H:%M}"


class AccountSession(models.Model):
    """One signed-in device: lets the citizen see where they are signed in and close other sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    amr = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.ip_address}"


class ClientRegistration(models.Model):
    """An institution's relying-party application (an OAuth2/OIDC client) and its review by the agency."""

    class Status(models.TextChoices):
        PENDING = "pendiente", _("Pendiente de aprobación")
        APPROVED = "aprobada", _("Aprobada")
        REJECTED = "rechazada", _("Rechazada")
        SUSPENDED = "suspendida", _("Suspendida")

    class ClaimShape(models.TextChoices):
        STANDARD = "estandar", _("OpenID Connect estándar")
        BOLIVIA = "bolivia", _("Compatible con Ciudadanía Digital de Bolivia")

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="registration"
    )
    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    allowed_scopes = models.CharField(_("alcances permitidos"), max_length=400)
    claim_shape = models.CharField(max_length=10, choices=ClaimShape.choices, default=ClaimShape.STANDARD)
    min_assurance = models.CharField(
        max_length=12, choices=AssuranceLevel.choices, default=AssuranceLevel.BASICO
    )
    logo_url = models.URLField(_("logotipo (URL)"), blank=True)
    privacy_policy_url = models.URLField(_("política de privacidad (URL)"), blank=True)
    description = models.CharField(_("descripción"), max_length=300, blank=True)
    review_comment = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("aplicación registrada")
        verbose_name_plural = _("aplicaciones registradas")

    def __str__(self) -> str:
        return str(self.application)

    @property
    def scope_set(self) -> set[str]:
        return set(self.allowed_scopes.split())


class Consent(models.Model):
    """The person agreed that ``application`` receives ``scopes``; remembered until withdrawn."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.CharField(max_length=400)
    granted_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "application"])]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.application_id}: {self.scopes}"


class DataUse(models.Model):
    """«¿Quién usó mis datos?»: a sign-in to a client, or (later) a consultation through interoperability."""

    class Kind(models.TextChoices):
        SIGN_IN = "ingreso", _("Ingreso a un sistema")
        CONSULTATION = "consulta", _("Consulta de datos")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="data_uses")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    institution = models.ForeignKey(
        "core.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    application_name = models.CharField(max_length=255, blank=True)
    purpose = models.CharField(max_length=255, blank=True)
    data = models.CharField(_("datos"), max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.created_at:%Y-%m-%d}"


class AuthorizationContext(models.Model):
    """How the person authenticated when an authorization code was issued (amr), so the ID token minted at
    the token endpoint, and later on refresh, states the methods of *that* sign-in."""

    code = models.CharField(max_length=255, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    amr = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "application", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.application_id} {self.amr}"
