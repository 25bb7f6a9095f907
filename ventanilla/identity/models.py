"""Accounts. The citizen identity (Person, levels of assurance, OIDC) grows here in the identity issue."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """One account per person. ``uuid`` is the stable public subject identifier (never the database id)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("correo electrónico"), blank=True)

    class Meta:
        verbose_name = _("cuenta")
        verbose_name_plural = _("cuentas")
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        full = self.get_full_name()
        return full or self.username
