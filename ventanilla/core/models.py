"""Shared kernel tables: institutions, offices, closures, platform roles and the append-only audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]{1,29}$",
    _("Use de 2 a 30 letras mayúsculas, números o guiones."),
    code="invalid_code",
)


class AssuranceLevel(models.TextChoices):
    """Levels of assurance of a citizen identity (Ciudadanía Digital), required by procedures and clients."""

    BASICO = "basico", _("Básico")
    VERIFICADO = "verificado", _("Verificado")


class Institution(models.Model):
    class Level(models.TextChoices):
        CENTRAL = "central", _("Nivel central")
        DEPARTAMENTAL = "departamental", _("Departamental")
        MUNICIPAL = "municipal", _("Municipal")
        INDIGENA = "indigena", _("Indígena originario campesino")
        OTROS_ORGANOS = "otros_organos", _("Otros órganos del Estado")
        EMPRESA_PUBLICA = "empresa_publica", _("Empresa pública")

    code = models.CharField(_("código"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("nombre"), max_length=255)
    acronym = models.CharField(_("sigla"), max_length=30, blank=True)
    level = models.CharField(_("nivel"), max_length=20, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("depende de"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    department = models.CharField(_("departamento"), max_length=4, blank=True)
    website = models.URLField(_("sitio web"), blank=True)
    email = models.EmailField(_("correo electrónico"), blank=True)
    phone = models.CharField(_("teléfono"), max_length=60, blank=True)
    description = models.TextField(_("descripción"), blank=True)
    is_active = models.BooleanField(_("activa"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("institución")
        verbose_name_plural = _("instituciones")

    def __str__(self) -> str:
        return f"{self.name} ({self.acronym or self.code})"

    @property
    def display_acronym(self) -> str:
        return self.acronym or self.code


class Office(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="offices")
    code = models.CharField(
        _("código"),
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z0-9][A-Z0-9-]{1,39}$", _("Use letras mayúsculas, números o guiones."))
        ],
    )
    name = models.CharField(_("nombre"), max_length=255)
    address = models.CharField(_("dirección"), max_length=255, blank=True)
    department = models.CharField(_("departamento"), max_length=4, blank=True)
    municipality = models.CharField(_("municipio"), max_length=120, blank=True)
    opening_hours = models.CharField(_("horario de atención"), max_length=255, blank=True)
    phone = models.CharField(_("teléfono"), max_length=60, blank=True)
    latitude = models.DecimalField(_("latitud"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitud"), max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(_("activa"), default=True)

    class Meta:
        ordering = ["institution__name", "name"]
        verbose_name = _("oficina")
        verbose_name_plural = _("oficinas")

    def __str__(self) -> str:
        return self.name


class Closure(models.Model):
    """A day an institution (or one of its offices) declares closed, on top of public holidays."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="closures")
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.CASCADE, related_name="closures"
    )
    date = models.DateField(_("fecha"))
    reason = models.CharField(_("motivo"), max_length=255)

    class Meta:
        ordering = ["date"]
        verbose_name = _("día inhábil declarado")
        verbose_name_plural = _("días inhábiles declarados")
        constraints = [
            models.UniqueConstraint(fields=["institution", "office", "date"], name="closure_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} — {self.reason}"


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Administrador de la plataforma")
    INSTITUTION_ADMIN = "institution_admin", _("Administrador institucional")
    INSTITUTION_EDITOR = "institution_editor", _("Editor institucional")
    CLERK = "clerk", _("Funcionario de atención")
    SUPERVISOR = "supervisor", _("Supervisor de atención")


class Membership(models.Model):
    """A user's role, scoped to one institution (platform admins have no institution). Citizens have none."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("rol"), max_length=30, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rol asignado")
        verbose_name_plural = _("roles asignados")
        constraints = [
            models.UniqueConstraint(fields=["user", "institution", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(role=Role.PLATFORM_ADMIN, institution__isnull=True)
                    | (~models.Q(role=Role.PLATFORM_ADMIN) & models.Q(institution__isnull=False))
                ),
                name="membership_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("El registro de auditoría es de solo anexado.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("El registro de auditoría es de solo anexado.")


class AuditEntry(models.Model):
    """Append-only: rows are never updated or deleted (enforced here and by database triggers)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("entrada de auditoría")
        verbose_name_plural = _("registro de auditoría")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("El registro de auditoría es de solo anexado.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("El registro de auditoría es de solo anexado.")
