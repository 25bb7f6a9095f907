"""The site's URLs plus test-only providers: one that answers too late, one that fails with a page full of
internals, and one that echoes what it received (headers and body digest)."""

from __future__ import annotations

import hashlib
import time

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as site_urlpatterns

SLOW_SECONDS = 1.5
INTERNALS = "Traceback: psycopg.OperationalError at db-interno.segip.local:5432 password=secreto-interno"


def slow(request: HttpRequest, rest: str = "") -> HttpResponse:
    time.sleep(SLOW_SECONDS)
    return JsonResponse({"tarde": True})


def failing(request: HttpRequest, rest: str = "") -> HttpResponse:
    response = HttpResponse(INTERNALS, status=500, content_type="text/plain")
    response["Server"] = "Apache/2.2 interno"
    response["X-Powered-By"] = "PHP/5.2"
    return response


@csrf_exempt
def echo(request: HttpRequest, rest: str = "") -> HttpResponse:
    digest = hashlib.sha256()
    size = 0
    while chunk := request.read(65536):
        digest.update(chunk)
        size += len(chunk)
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower().startswith(("interop-", "authorization", "cookie", "x-"))
    }
    response = JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "query": request.GET.dict(),
            "headers": headers,
            "size": size,
            "sha256": digest.hexdigest(),
        }
    )
    response["Set-Cookie"] = "internal=1"
    response["Server"] = "interno"
    return response


def big(request: HttpRequest, rest: str = "") -> HttpResponse:
    size = int(request.GET.get("mb", "3")) * 1024 * 1024
    block = b"x" * 65536
    return StreamingHttpResponse(
        (block for _ in range(size // len(block))), content_type="application/octet-stream"
    )


urlpatterns = [
    path("prueba-proveedor/lento/<path:rest>", slow),
    path("prueba-proveedor/falla/<path:rest>", failing),
    path("prueba-proveedor/eco/<path:rest>", echo),
    path("prueba-proveedor/grande/<path:rest>", big),
    *site_urlpatterns,
]
