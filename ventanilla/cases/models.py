"""Tables of the cases app."""

from django.db import models  # noqa: F401
