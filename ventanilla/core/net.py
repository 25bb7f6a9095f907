"""Outgoing HTTP to addresses institutions give us (webhooks, callbacks): only public hosts.

The platform must never become a proxy into its own network (SSRF): loopback, private ranges, link-local
(cloud metadata at 169.254.169.254), and names that resolve to them are refused. Check when the address is
registered and again right before each request (DNS can change in between)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def outbound_url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` may not be called, in Spanish, or None. HTTPS only and no credentials in the URL;
    unless ``allow_private`` (development and tests, where plain HTTP to localhost is also accepted),
    every address the host resolves to must be global."""
    try:
        parts = urlsplit((url or "").strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return _("La URL no es válida.")
    if "@" in parts.netloc or not host:
        return _("La URL no es válida (sin usuario ni contraseña en la dirección).")
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http" and host in LOOPBACK_NAMES):
        return _("La dirección debe usar HTTPS.")
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return _("No se pudo resolver el nombre «%(host)s».") % {"host": host}
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            return _("La dirección de «%(host)s» no es pública: no se envían avisos a redes internas.") % {
                "host": host
            }
    return None
