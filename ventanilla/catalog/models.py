"""Portal de Trámites: the national catalogue of procedures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ventanilla.core.models import AssuranceLevel

slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", _("Use minúsculas, números y guiones."), code="invalid_slug"
)


class SearchVectorColumn(models.TextField):
    """``tsvector`` on PostgreSQL (filled by a trigger from ``search_document``, GIN-indexed); unused text on
    SQLite. Declared so queries use the stored vector instead of recomputing it for every row."""

    def db_type(self, connection: Any) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"

    def get_lookup(self, lookup_name: str) -> Any:
        from django.contrib.postgres.search import SearchVectorExact

        if lookup_name == "exact":
            return SearchVectorExact
        return super().get_lookup(lookup_name)


class Category(models.Model):
    slug = models.SlugField(unique=True, max_length=80)
    name = models.CharField(_("nombre"), max_length=120)
    description = models.CharField(_("descripción"), max_length=255, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("categoría")
        verbose_name_plural = _("categorías")

    def __str__(self) -> str:
        return self.name


class LifeEvent(models.Model):
    slug = models.SlugField(unique=True, max_length=80)
    name = models.CharField(_("nombre"), max_length=120)
    description = models.CharField(_("descripción"), max_length=255, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("hecho vital")
        verbose_name_plural = _("hechos vitales")

    def __str__(self) -> str:
        return self.name


class Procedure(models.Model):
    class Status(models.TextChoices):
        DRAFT = "borrador", _("Borrador")
        IN_REVIEW = "en_revision", _("En revisión")
        PUBLISHED = "publicado", _("Publicado")
        ARCHIVED = "archivado", _("Archivado")

    class Audience(models.TextChoices):
        PERSON = "persona", _("Personas")
        COMPANY = "empresa", _("Empresas")
        BOTH = "ambos", _("Personas y empresas")

    class Level(models.IntegerChoices):
        INFORMATIVE = 1, _("1 · Informativo")
        INTERACTIVE = 2, _("2 · Interacción (formularios descargables)")
        TRANSACTIONAL = 3, _("3 · Transacción parcial en línea")
        FULLY_ONLINE = 4, _("4 · Completamente en línea")

    class Currency(models.TextChoices):
        BOB = "BOB", _("Bolivianos (Bs)")
        PYG = "PYG", _("Guaraníes (₲)")

    slug = models.SlugField(max_length=120, unique=True, validators=[slug_validator])
    name = models.CharField(_("nombre"), max_length=200)
    summary = models.CharField(_("resumen"), max_length=300)
    description = models.TextField(_("descripción"), blank=True)
    institution = models.ForeignKey("core.Institution", on_delete=models.PROTECT, related_name="procedures")
    office = models.ForeignKey(
        "core.Office",
        verbose_name=_("oficina responsable"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="procedures")
    life_events = models.ManyToManyField(LifeEvent, blank=True, related_name="procedures")
    audience = models.CharField(
        _("dirigido a"), max_length=10, choices=Audience.choices, default=Audience.PERSON
    )
    keywords = models.CharField(_("palabras clave"), max_length=400, blank=True)
    is_free = models.BooleanField(_("gratuito"), default=False)
    cost_amount = models.DecimalField(_("costo"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("moneda"), max_length=3, choices=Currency.choices, blank=True)
    payment_instructions = models.TextField(_("instrucciones de pago"), blank=True)
    legal_basis = models.TextField(_("base legal"), blank=True)
    max_days = models.PositiveSmallIntegerField(
        _("plazo máximo (días hábiles)"), default=0, validators=[MaxValueValidator(3650)]
    )
    digitisation_level = models.PositiveSmallIntegerField(
        _("nivel de digitalización"),
        choices=Level.choices,
        default=Level.INFORMATIVE,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    runs_on_platform = models.BooleanField(_("se tramita en esta plataforma"), default=False)
    min_assurance = models.CharField(
        _("nivel de Ciudadanía Digital requerido"),
        max_length=12,
        choices=AssuranceLevel.choices,
        blank=True,
        help_text=_("Vacío: no requiere cuenta. Básico o verificado: nivel mínimo para iniciarlo en línea."),
    )
    external_start_url = models.URLField(_("enlace para iniciar"), blank=True, max_length=500)
    external_tracking_url = models.URLField(_("enlace de seguimiento"), blank=True, max_length=500)
    status = models.CharField(
        _("estado"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    version = models.PositiveIntegerField(default=1)
    published_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("observaciones de revisión"), blank=True)
    # Changes proposed to a published procedure wait here (import/export layout) until the agency approves.
    pending_data = models.JSONField(null=True, blank=True, editable=False)
    pending_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("última actualización"), auto_now=True)
    # Search: folded text (accent-free, lowercase) and its Spanish stems, kept current by the services.
    sort_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    search_document = models.TextField(blank=True, editable=False)
    search_stems = models.TextField(blank=True, editable=False)
    search_vector = SearchVectorColumn(null=True, blank=True, editable=False)
    name_stems = models.CharField(max_length=400, blank=True, editable=False)
    helpful_yes = models.PositiveIntegerField(default=0)
    helpful_no = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_key"]
        verbose_name = _("trámite")
        verbose_name_plural = _("trámites")
        indexes = [
            models.Index(fields=["status", "institution"]),
            models.Index(fields=["status", "category"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_free=True) | models.Q(cost_amount__isnull=False, cost_amount__gte=0),
                name="procedure_cost_or_free",
            ),
            models.CheckConstraint(
                condition=models.Q(digitisation_level__gte=1, digitisation_level__lte=4),
                name="procedure_level_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:procedure-detail", kwargs={"slug": self.slug})

    @property
    def is_fully_online(self) -> bool:
        return self.digitisation_level == self.Level.FULLY_ONLINE

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def cost_display(self) -> str:
        if self.is_free or self.cost_amount is None:
            return str(_("Gratuito"))
        return settings.COUNTRY_PACK.format_money(Decimal(self.cost_amount))

    @property
    def start_url(self) -> str:
        """Where 'Iniciar trámite' goes: the institution's own system, or blank when it starts here."""
        return "" if self.runs_on_platform else self.external_start_url

    @property
    def helpful_percent(self) -> int | None:
        total = self.helpful_yes + self.helpful_no
        return round(100 * self.helpful_yes / total) if total else None


class Requirement(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="requirements")
    order = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("requisito"), max_length=255)
    description = models.TextField(_("detalle"), blank=True)
    issuer = models.ForeignKey(
        "core.Institution",
        verbose_name=_("institución que lo emite"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    issuer_name = models.CharField(_("emisor (otro)"), max_length=255, blank=True)
    held_by_state = models.BooleanField(_("el Estado ya lo tiene"), default=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("requisito")
        verbose_name_plural = _("requisitos")

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("paso"), max_length=255)
    description = models.TextField(_("detalle"), blank=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("paso")
        verbose_name_plural = _("pasos")

    def __str__(self) -> str:
        return self.title


class Channel(models.Model):
    class Kind(models.TextChoices):
        IN_PERSON = "presencial", _("Presencial")
        ONLINE = "en_linea", _("En línea")
        PHONE = "telefonico", _("Telefónico")

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("canal"), max_length=12, choices=Kind.choices)
    offices = models.ManyToManyField("core.Office", blank=True, related_name="+")
    hours = models.CharField(_("horario"), max_length=255, blank=True)
    url = models.URLField(_("enlace"), blank=True, max_length=500)
    phone = models.CharField(_("teléfono"), max_length=60, blank=True)
    notes = models.CharField(_("notas"), max_length=255, blank=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("canal de atención")
        verbose_name_plural = _("canales de atención")
        constraints = [models.UniqueConstraint(fields=["procedure", "kind"], name="channel_unique_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()


class Faq(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="faqs")
    order = models.PositiveSmallIntegerField(default=0)
    question = models.CharField(_("pregunta"), max_length=300)
    answer = models.TextField(_("respuesta"))

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("pregunta frecuente")
        verbose_name_plural = _("preguntas frecuentes")

    def __str__(self) -> str:
        return self.question


class ProcedureVersion(models.Model):
    """A full snapshot of a procedure each time it changes status or content (never edited)."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Procedure.Status.choices)
    data = models.JSONField()
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number", "-id"]
        verbose_name = _("versión")
        verbose_name_plural = _("versiones")

    def __str__(self) -> str:
        return f"{self.procedure_id} v{self.number}"


class Rating(models.Model):
    """A citizen's answer to '¿Le fue útil esta página?'. One per browser session per procedure."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="ratings")
    useful = models.BooleanField()
    comment = models.CharField(max_length=500, blank=True)
    session_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["procedure", "session_hash"], name="rating_once_per_session")
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id}: {'útil' if self.useful else 'no útil'}"


class Simplification(models.Model):
    """One entry of the simplification register: what changed in a procedure, when and by which act."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="simplifications")
    date = models.DateField(_("fecha"))
    legal_act = models.CharField(_("acto normativo"), max_length=255)
    description = models.TextField(_("descripción"))
    requirements_before = models.PositiveSmallIntegerField(_("requisitos antes"))
    requirements_after = models.PositiveSmallIntegerField(_("requisitos después"))
    steps_before = models.PositiveSmallIntegerField(_("pasos antes"))
    steps_after = models.PositiveSmallIntegerField(_("pasos después"))
    days_before = models.PositiveSmallIntegerField(_("días antes"))
    days_after = models.PositiveSmallIntegerField(_("días después"))
    cost_before = models.DecimalField(_("costo antes"), max_digits=12, decimal_places=2)
    cost_after = models.DecimalField(_("costo después"), max_digits=12, decimal_places=2)
    channels_before = models.JSONField(_("canales antes"), default=list)
    channels_after = models.JSONField(_("canales después"), default=list)
    annual_volume = models.PositiveIntegerField(_("trámites por año (estimado)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("simplificación")
        verbose_name_plural = _("registro de simplificaciones")
        constraints = [
            models.UniqueConstraint(fields=["procedure", "date", "legal_act"], name="simplification_unique")
        ]

    def __str__(self) -> str:
        return f"{self.procedure} — {self.date:%d/%m/%Y}"

    @property
    def days_saved_per_case(self) -> int:
        return max(self.days_before - self.days_after, 0)

    @property
    def money_saved_per_case(self) -> Decimal:
        return max(self.cost_before - self.cost_after, Decimal(0))

    @property
    def citizen_days_saved(self) -> int:
        return self.days_saved_per_case * self.annual_volume

    @property
    def money_saved(self) -> Decimal:
        return self.money_saved_per_case * self.annual_volume
