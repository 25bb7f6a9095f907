"""Tables of the documents app: issued PDFs, signing keys, trust roots and citizen approval requests."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CertificateAuthority(models.Model):
    """A trust root for verification. The development CA keeps its (encrypted) key to issue institution
    certificates; a production root is only a certificate (its key never enters the platform)."""

    name = models.CharField(_("nombre"), max_length=200, unique=True)
    certificate_pem = models.TextField()
    private_key_encrypted = models.TextField(blank=True)
    is_development = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("autoridad certificadora")
        verbose_name_plural = _("autoridades certificadoras")

    def __str__(self) -> str:
        return self.name


class SigningKey(models.Model):
    """An institution's signing certificate and private key (encrypted at rest with a key derived from
    SECRET_KEY). One active key per institution; replaced keys stay for the record."""

    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    certificate_pem = models.TextField()
    chain_pem = models.TextField(blank=True, help_text="Intermediate and root certificates (PEM).")
    private_key_encrypted = models.TextField()
    is_development = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    not_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("clave de firma")
        verbose_name_plural = _("claves de firma")
        constraints = [
            models.UniqueConstraint(
                fields=["institution"], condition=models.Q(is_active=True), name="signingkey_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} ({'activa' if self.is_active else 'reemplazada'})"


class Document(models.Model):
    """An issued PDF with its verification code. ``sha256`` is the hash of the final (signed) file."""

    class Kind(models.TextChoices):
        RECIBO = "recibo", _("Recibo")
        RESOLUCION = "resolucion", _("Resolución")
        CERTIFICADO = "certificado", _("Certificado")
        CONSTANCIA_NOTIFICACION = "constancia_notificacion", _("Constancia de notificación")
        APROBACION = "aprobacion", _("Constancia de aprobación")
        OTRO = "otro", _("Otro documento")

    class Status(models.TextChoices):
        VALID = "valid", _("Válido")
        REVOKED = "revoked", _("Revocado")

    code = models.CharField(_("código de verificación"), max_length=20, unique=True)
    kind = models.CharField(_("tipo"), max_length=30, choices=Kind.choices)
    title = models.CharField(_("título"), max_length=255)
    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "identity.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(_("referencia"), max_length=100, blank=True, db_index=True)
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    signed = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("documento")
        verbose_name_plural = _("documentos")

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    @property
    def verify_path(self) -> str:
        return reverse("documents:verify", args=[self.code])

    @property
    def verify_url(self) -> str:
        return settings.DOCUMENTS_PUBLIC_BASE_URL + self.verify_path


class ApprovalRequest(models.Model):
    """An institution asks a person to approve a document (PDF or JSON); the person decides in Mi cuenta
    after authenticating again. The decision records time, method (amr) and the hash approved."""

    class Status(models.TextChoices):
        PENDING = "pendiente", _("Pendiente")
        APPROVED = "aprobado", _("Aprobado")
        REJECTED = "rechazado", _("Rechazado")
        CANCELLED = "cancelado", _("Cancelado")

    class ContentType(models.TextChoices):
        PDF = "PDF", "PDF"
        JSON = "JSON", "JSON"

    class CallbackStatus(models.TextChoices):
        NONE = "", _("Sin aviso")
        PENDING = "pendiente", _("Pendiente")
        DELIVERED = "entregado", _("Entregado")
        FAILED = "fallido", _("Fallido")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("identity.Person", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("título"), max_length=255)
    description = models.TextField(_("descripción"), blank=True)
    content_type = models.CharField(max_length=4, choices=ContentType.choices)
    content = models.FileField(upload_to="documents/approvals/%Y/%m/", max_length=200)
    sha256 = models.CharField(max_length=64)
    reference = models.CharField(_("referencia del trámite"), max_length=100, blank=True, db_index=True)
    client_id = models.CharField(max_length=100, blank=True)
    callback_url = models.URLField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_amr = models.JSONField(default=list, blank=True)
    decision_sha256 = models.CharField(max_length=64, blank=True)
    decision_comment = models.CharField(max_length=500, blank=True)
    evidence = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    callback_status = models.CharField(
        max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.NONE, blank=True
    )
    callback_attempts = models.PositiveIntegerField(default=0)
    callback_last_error = models.CharField(max_length=300, blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    # A worker posting the callback holds it until then (claimed with a conditional UPDATE); the sweeper
    # hands back pending callbacks that are due and not held.
    callback_locked_until = models.DateTimeField(null=True, blank=True)
    callback_next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("solicitud de aprobación")
        verbose_name_plural = _("solicitudes de aprobación")
        indexes = [models.Index(fields=["person", "status"]), models.Index(fields=["institution", "status"])]

    def __str__(self) -> str:
        return f"{self.public_id} — {self.title}"
