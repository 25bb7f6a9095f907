"""Notificaciones electrónicas: /api/v1/ routes (django-ninja)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["Notificaciones electrónicas"])
