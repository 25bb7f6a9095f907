"""An e-mail backend that always fails, for the retry tests."""

from __future__ import annotations

from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    calls = 0

    def send_messages(self, email_messages: Any) -> int:
        FailingBackend.calls += 1
        raise ConnectionRefusedError("servidor de correo caído")
