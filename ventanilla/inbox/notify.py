"""GOV.UK Notify-compatible API (``/v2/notifications…``), so Notify's client libraries work unchanged.

Who may call: an institution's system holding one of its API keys (``{key_name}-{service_id}-{secret}``,
created in the back office). Each request carries ``Authorization: Bearer <JWT>``: HS256 signed with the
key's secret, ``iss`` = service id, ``iat`` within 30 seconds of our clock. Bodies and errors have Notify's
shape: ``{"errors": [{"error": "BadRequestError", "message": "..."}], "status_code": 400}``. An institution
only sees the messages it sent through this API.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ventanilla.core.errors import DomainError, NotFound

from . import keys, selectors, services
from .models import ApiKey, Channel, OutboxMessage

CLOCK_SKEW_SECONDS = 30

# Our statuses in Notify's words, and Notify's filter values in ours.
STATUS_OUT = {
    OutboxMessage.Status.QUEUED: "created",
    OutboxMessage.Status.SENDING: "sending",
    OutboxMessage.Status.SENT: "delivered",
    OutboxMessage.Status.FAILED: "technical-failure",
}
STATUS_IN = {
    "created": ["queued"],
    "sending": ["sending"],
    "pending": ["sending"],
    "sent": ["sent"],
    "delivered": ["sent"],
    "failed": ["failed"],
    "technical-failure": ["failed"],
    "temporary-failure": [],
    "permanent-failure": [],
    "cancelled": [],
    "pending-virus-check": [],
    "validation-failed": [],
    "virus-scan-failed": [],
    "returned-letter": [],
    "accepted": [],
    "received": [],
}


def error(status: int, kind: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"error": kind, "message": message}], "status_code": status}, status=status
    )


class AuthFailure(Exception):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def authenticate(header: str) -> ApiKey:
    """The API key whose secret signed the request's JWT (Notify's rules and messages)."""
    if not header:
        raise AuthFailure("Unauthorized: authentication token must be provided", 401)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthFailure("Unauthorized: authentication bearer scheme must be used", 401)
    try:
        unverified = jwt.decode(token, options={"verify_signature": False}, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise AuthFailure("Invalid token: signature, api token is not valid") from None
    issuer = unverified.get("iss")
    if not issuer:
        raise AuthFailure("Invalid token: iss field not provided")
    candidates = selectors.api_keys_for_service(str(issuer))
    if not candidates:
        raise AuthFailure("Invalid token: service not found")
    for api_key in candidates:
        secret = keys.secret_decrypt(api_key.secret_encrypted)
        if secret is None:
            continue
        try:
            claims = jwt.decode(
                token,
                key=secret,
                algorithms=["HS256"],
                options={"verify_iat": False, "verify_exp": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise AuthFailure("Invalid token: signature, api token is not valid") from None
        if api_key.revoked_at is not None:
            raise AuthFailure("Invalid token: API key revoked")
        if "iat" not in claims:
            raise AuthFailure("Invalid token: iat field not provided")
        try:
            issued_at = int(claims["iat"])
        except (TypeError, ValueError):
            raise AuthFailure("Invalid token: iat field not provided") from None
        if abs(time.time() - issued_at) > CLOCK_SKEW_SECONDS:
            raise AuthFailure("Error: Your system clock must be accurate to within 30 seconds")
        if not api_key.institution.is_active:
            raise AuthFailure("Invalid token: service is inactive")
        return api_key
    raise AuthFailure("Invalid token: API key not found")


def notify_view(methods: set[str]) -> Callable[[Callable[..., JsonResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., JsonResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error(
                    405, "MethodNotAllowedError", "The method is not allowed for the requested URL."
                )
                response["Allow"] = ", ".join(sorted(methods))
                return response
            try:
                api_key = authenticate(request.headers.get("Authorization", ""))
            except AuthFailure as exc:
                return error(exc.status, "AuthError", exc.message)
            services.api_key_touch(api_key=api_key)
            return view(request, api_key, *args, **kwargs)

        return wrapper

    return decorator


def _root(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _template_ref(request: HttpRequest, message: OutboxMessage, service_id: Any) -> dict[str, Any] | None:
    if message.template_id is None:
        return None
    return {
        "id": str(message.template_id),
        "version": message.template_version or 1,
        "uri": f"{_root(request)}services/{service_id}/templates/{message.template_id}",
    }


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise DomainError(message="Invalid JSON supplied in POST data", code="BadRequestError") from None
    if not isinstance(data, dict):
        raise DomainError(message="Invalid JSON supplied in POST data", code="BadRequestError")
    return data


def _validation(message: str) -> DomainError:
    return DomainError(message=message, code="ValidationError")


def _post(request: HttpRequest, api_key: ApiKey, channel: str) -> JsonResponse:
    recipient_field = "email_address" if channel == Channel.EMAIL else "phone_number"
    try:
        data = _json_body(request)
        problems = []
        for name in (recipient_field, "template_id"):
            if name not in data or data[name] in (None, ""):
                problems.append(f"{name} is a required property")
        if problems:
            return JsonResponse(
                {
                    "errors": [{"error": "ValidationError", "message": m} for m in problems],
                    "status_code": 400,
                },
                status=400,
            )
        try:
            template_id = uuid.UUID(str(data["template_id"]))
        except ValueError:
            raise _validation("template_id is not a valid UUID") from None
        personalisation = data.get("personalisation") or {}
        if not isinstance(personalisation, dict):
            raise _validation(f"personalisation {personalisation} is not of type object")
        reference = data.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise _validation(f"reference {reference} is not of type string, null")
        if reference and len(reference) > 255:
            raise _validation("reference is too long")
        recipient = data[recipient_field]
        if not isinstance(recipient, str):
            raise _validation(f"{recipient_field} {recipient} is not of type string")
        try:
            template = selectors.template_get(
                institution_ids={api_key.institution_id}, template_id=template_id
            )
        except NotFound:
            raise DomainError(message="Template not found", code="BadRequestError") from None
        if template.channel != channel:
            raise DomainError(
                message=f"{template.channel} template is not suitable for {channel} notification",
                code="BadRequestError",
            )
        try:
            message = services.message_from_template(
                institution_id=api_key.institution_id,
                template_id=template.pk,
                to=recipient,
                personalisation=personalisation,
                reference=reference or "",
                api_key=api_key,
            )
        except services.MissingPersonalisation as exc:
            raise DomainError(
                message=f"Missing personalisation: {', '.join(exc.missing)}", code="BadRequestError"
            ) from None
        except DomainError as exc:
            if exc.field == "to":
                text = "Not a valid email address" if channel == Channel.EMAIL else "Not a valid phone number"
                raise _validation(f"{recipient_field} {text}") from None
            if exc.code == "template_inactive":
                raise DomainError(message="Template has been deleted", code="BadRequestError") from None
            raise DomainError(message=exc.message, code="BadRequestError") from None
    except DomainError as exc:
        return error(exc.status if exc.status != 404 else 400, exc.code, exc.message)
    root = _root(request)
    body: dict[str, Any] = {
        "id": str(message.pk),
        "reference": message.reference or None,
        "uri": f"{root}v2/notifications/{message.pk}",
        "template": _template_ref(request, message, api_key.service_id),
        "scheduled_for": None,
    }
    if channel == Channel.EMAIL:
        body["content"] = {
            "subject": message.subject,
            "body": message.body,
            "from_email": settings.DEFAULT_FROM_EMAIL,
            "one_click_unsubscribe_url": None,
        }
    else:
        body["content"] = {
            "body": message.body,
            "from_number": getattr(settings, "SMS_SENDER_NAME", "Ventanilla"),
        }
    return JsonResponse(body, status=201)


@notify_view({"POST"})
def post_email(request: HttpRequest, api_key: ApiKey) -> JsonResponse:
    return _post(request, api_key, Channel.EMAIL)


@notify_view({"POST"})
def post_sms(request: HttpRequest, api_key: ApiKey) -> JsonResponse:
    return _post(request, api_key, Channel.SMS)


@notify_view({"POST"})
def post_letter(request: HttpRequest, api_key: ApiKey) -> JsonResponse:
    return error(400, "BadRequestError", "Service is not allowed to send letters")


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _serialize(request: HttpRequest, message: OutboxMessage, service_id: Any) -> dict[str, Any]:
    is_email = message.channel == Channel.EMAIL
    data: dict[str, Any] = {
        "id": str(message.pk),
        "reference": message.reference or None,
        "email_address": message.to if is_email else None,
        "phone_number": None if is_email else message.to,
        "type": message.channel,
        "status": STATUS_OUT[OutboxMessage.Status(message.status)],
        "template": _template_ref(request, message, service_id),
        "body": message.body,
        "subject": message.subject if is_email else None,
        "created_at": _iso(message.created_at),
        "created_by_name": None,
        "sent_at": _iso(message.sent_at),
        "completed_at": _iso(message.sent_at) if message.status == OutboxMessage.Status.SENT else None,
        "scheduled_for": None,
        "postage": None,
        "one_click_unsubscribe_url": None,
    }
    for number in range(1, 7):
        data[f"line_{number}"] = None
    data["postcode"] = None
    return data


@notify_view({"GET"})
def get_notification(request: HttpRequest, api_key: ApiKey, notification_id: str) -> JsonResponse:
    try:
        uuid.UUID(notification_id)
    except ValueError:
        return error(400, "ValidationError", "notification_id is not a valid UUID")
    try:
        message = selectors.outbox_message_get(
            institution_id=api_key.institution_id, message_id=notification_id
        )
    except NotFound:
        return error(404, "NoResultFound", "No result found")
    return JsonResponse(_serialize(request, message, api_key.service_id))


@notify_view({"GET"})
def get_notifications(request: HttpRequest, api_key: ApiKey) -> JsonResponse:
    template_type = request.GET.get("template_type", "")
    if template_type and template_type not in ("email", "sms", "letter"):
        return error(
            400, "ValidationError", f"template_type {template_type} is not one of [sms, email, letter]"
        )
    statuses: list[str] = []
    for status in request.GET.getlist("status"):
        if status not in STATUS_IN:
            allowed = ", ".join(STATUS_IN)
            return error(400, "ValidationError", f"status {status} is not one of [{allowed}]")
        statuses.extend(STATUS_IN[status])
    if request.GET.getlist("status") and not statuses:
        messages: list[OutboxMessage] = []
    else:
        older_than = None
        older_than_id = request.GET.get("older_than", "")
        if older_than_id:
            try:
                uuid.UUID(older_than_id)
            except ValueError:
                return error(400, "ValidationError", "older_than is not a valid UUID")
            older_than = selectors.outbox_find(
                institution_id=api_key.institution_id, message_id=older_than_id
            )
        if template_type == "letter" or (older_than_id and older_than is None):
            messages = []
        else:
            messages = selectors.outbox_message_list_for_api(
                institution_id=api_key.institution_id,
                channel=template_type,
                statuses=statuses or None,
                reference=request.GET.get("reference", ""),
                older_than=older_than,
            )
    params = {
        k: v for k, v in request.GET.lists() if k in ("template_type", "status", "reference", "older_than")
    }
    base = f"{_root(request)}v2/notifications"
    links = {"current": f"{base}?{urlencode(params, doseq=True)}" if params else base}
    if messages:
        params["older_than"] = [str(messages[-1].pk)]
        links["next"] = f"{base}?{urlencode(params, doseq=True)}"
    return JsonResponse(
        {"notifications": [_serialize(request, m, api_key.service_id) for m in messages], "links": links}
    )
