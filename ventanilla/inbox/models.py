"""Tables of the inbox app: the legal inbox (Notification) and the outbox of e-mail and SMS messages
(OutboxMessage, DeliveryAttempt), institution message templates and Notify-compatible API keys."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Correo electrónico")
    SMS = "sms", _("SMS")


class Notification(models.Model):
    """A message an institution leaves in a person's legal inbox, with its evidence trail."""

    class EffectReason(models.TextChoices):
        DELIVERY = "delivery", _("Puesta a disposición")
        OPENED = "opened", _("Apertura por la persona")
        DEEMED = "deemed", _("Plazo vencido sin apertura")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("identity.Person", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(_("asunto"), max_length=200)
    body = models.TextField(_("contenido"))
    legal = models.BooleanField(_("con efectos legales"), default=False)
    case_reference = models.CharField(_("expediente o referencia"), max_length=100, blank=True, db_index=True)
    link_path = models.CharField(max_length=300, blank=True)
    documents = models.ManyToManyField("documents.Document", blank=True, related_name="+")
    constancia = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A worker issuing the constancia holds the notification until then (conditional UPDATE), so two runs
    # of the task never issue two constancias.
    constancia_claimed_until = models.DateTimeField(null=True, blank=True)
    sender_label = models.CharField(max_length=150, blank=True)
    content_hash = models.CharField(max_length=64)
    # 1: subject, body and attachments only (notifications sent before v2); 2: also institution, recipient,
    # case reference, legal flag, uuid and available_at (selectors.evidence_hash).
    content_hash_version = models.PositiveSmallIntegerField(default=1)
    available_at = models.DateTimeField(_("puesta a disposición"))
    first_opened_at = models.DateTimeField(_("primera apertura"), null=True, blank=True)
    deemed_on = models.DateField(null=True, blank=True, db_index=True)
    effective_at = models.DateTimeField(_("surte efecto"), null=True, blank=True)
    effect_reason = models.CharField(max_length=10, choices=EffectReason.choices, blank=True)
    effect_rule = models.CharField(max_length=20, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-available_at", "-id"]
        verbose_name = _("notificación")
        verbose_name_plural = _("notificaciones")
        indexes = [
            models.Index(fields=["person", "archived_at", "-available_at"], name="inbox_notif_person_idx"),
            models.Index(fields=["effective_at", "legal"], name="inbox_notif_pending_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_read(self) -> bool:
        return self.first_opened_at is not None


class MessageTemplate(models.Model):
    """An institution's e-mail or SMS template with ((placeholders)), as GOV.UK Notify's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("nombre"), max_length=150)
    channel = models.CharField(_("canal"), max_length=5, choices=Channel.choices)
    subject = models.CharField(_("asunto"), max_length=200, blank=True)
    body = models.TextField(_("texto"))
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["institution", "name"]
        verbose_name = _("plantilla de mensaje")
        verbose_name_plural = _("plantillas de mensajes")

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A Notify-style API key ``{name}-{service_id}-{secret}``. The secret signs the caller's JWTs (HS256), so
    it is kept (encrypted with the installation's SECRET_KEY), shown once, and can be revoked."""

    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("nombre"), max_length=60)
    service_id = models.UUIDField(db_index=True)
    secret_encrypted = models.TextField()
    secret_hint = models.CharField(max_length=8)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("clave de API")
        verbose_name_plural = _("claves de API")

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """One e-mail or SMS, written before it is sent; the delivery task reads it back by id."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En cola")
        SENDING = "sending", _("Enviándose")
        SENT = "sent", _("Enviado")
        FAILED = "failed", _("Fallido")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.ForeignKey(
        "core.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    template_version = models.PositiveIntegerField(null=True, blank=True)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("mensaje saliente")
        verbose_name_plural = _("mensajes salientes")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="inbox_outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to}"


class DeliveryAttempt(models.Model):
    """One try at handing a message to the mail server or SMS provider."""

    class Outcome(models.TextChoices):
        STARTED = "started", _("En curso")
        SENT = "sent", _("Enviado")
        FAILED = "failed", _("Fallido")
        # The worker's lease expired and another worker took the message over: this attempt's result
        # is kept here but changes nothing on the message.
        SUPERSEDED = "superseded", _("Reemplazado por otro intento")

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.STARTED)
    error = models.TextField(blank=True)
    provider_reference = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["message", "number"]
        verbose_name = _("intento de envío")
        verbose_name_plural = _("intentos de envío")

    def __str__(self) -> str:
        return f"{self.message_id} #{self.number}"
