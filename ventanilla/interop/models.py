"""Tables of the interop app."""

from django.db import models  # noqa: F401
