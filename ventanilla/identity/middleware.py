"""Keeps «last seen» of the signed-in device current, and notices sessions closed from another device."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .accounts import account_session_touch


class AccountSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            account_session_touch(session_key=request.session.session_key)
        return self.get_response(request)
