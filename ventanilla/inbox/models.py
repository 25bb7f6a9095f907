"""Tables of the inbox app."""

from django.db import models  # noqa: F401
