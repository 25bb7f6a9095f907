"""Tables of the documents app."""

from django.db import models  # noqa: F401
