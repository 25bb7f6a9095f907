"""Text messages (SMS) to citizens' mobiles, behind one small interface.

The provider is chosen by ``settings.SMS_PROVIDER`` (a dotted path to a class); the default is the
development provider, which only logs and keeps the messages in memory (``outbox``) for tests.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

DEFAULT_PROVIDER = "ventanilla.identity.sms.DevSmsProvider"


class SmsError(Exception):
    """The provider did not accept the message."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    sent_at: dt.datetime


class SmsProvider(Protocol):
    def send(self, to: str, text: str) -> None:
        """Deliver ``text`` to the mobile number ``to`` (E.164) or raise :class:`SmsError`."""


#: Messages "sent" by :class:`DevSmsProvider` in this process (tests read and clear it).
outbox: list[SmsMessage] = []


class DevSmsProvider:
    """Development and test provider: logs the message and keeps it in :data:`outbox`."""

    outbox = outbox

    def send(self, to: str, text: str) -> None:
        outbox.append(SmsMessage(to=to, text=text, sent_at=timezone.now()))
        logger.info("SMS (desarrollo) a %s: %s", to, text)


class HttpSmsProvider:
    """Posts ``{"to": ..., "text": ...}`` as JSON to ``settings.SMS_HTTP_URL`` with a bearer token
    (``settings.SMS_HTTP_TOKEN``). Any non-2xx answer, network error or timeout raises :class:`SmsError`."""

    def __init__(
        self, url: str | None = None, token: str | None = None, timeout: float | None = None
    ) -> None:
        self.url = url if url is not None else getattr(settings, "SMS_HTTP_URL", "")
        self.token = token if token is not None else getattr(settings, "SMS_HTTP_TOKEN", "")
        self.timeout = timeout if timeout is not None else float(getattr(settings, "SMS_HTTP_TIMEOUT", 10))

    def send(self, to: str, text: str) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise SmsError("SMS_HTTP_URL no está configurada.")
        body = json.dumps({"to": to, "text": text}).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # nosec B310 # noqa: S310 - scheme checked above
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsError(f"El proveedor de SMS respondió {exc.code}.") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"No se pudo contactar al proveedor de SMS: {exc}") from exc
        if not 200 <= status < 300:
            raise SmsError(f"El proveedor de SMS respondió {status}.")


def get_provider() -> SmsProvider:
    provider_class = import_string(getattr(settings, "SMS_PROVIDER", DEFAULT_PROVIDER) or DEFAULT_PROVIDER)
    provider: SmsProvider = provider_class()
    return provider


def send_sms(to: str, text: str) -> None:
    get_provider().send(to, text)
