"""Back office for institution editors and the platform agency (stub: being written)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
