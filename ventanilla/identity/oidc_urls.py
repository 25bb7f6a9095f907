"""OIDC/OAuth2 endpoints at the site root (issuer = the site's origin) plus the paths that relying parties
written for Bolivia's Ciudadanía Digital hard-code (/auth, /token, /me, /token/introspection,
/token/revocation, /session/end)."""

from django.urls import path, re_path
from oauth2_provider import views as dot

from .oidc import (
    VentanillaAuthorizationView,
    VentanillaDiscoveryView,
    VentanillaIntrospectView,
    VentanillaLogoutView,
)

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", VentanillaAuthorizationView.as_view(), name="authorize"),
    path("token/", dot.TokenView.as_view(), name="token"),
    path("revoke_token/", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", VentanillaIntrospectView.as_view(), name="introspect"),
    re_path(
        r"^\.well-known/openid-configuration/?$",
        VentanillaDiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", dot.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", dot.UserInfoView.as_view(), name="user-info"),
    path("logout/", VentanillaLogoutView.as_view(), name="rp-initiated-logout"),
    # Aliases used by relying parties of Bolivia's Ciudadanía Digital.
    path("auth", VentanillaAuthorizationView.as_view(), name="alias-auth"),
    path("token", dot.TokenView.as_view(), name="alias-token"),
    path("me", dot.UserInfoView.as_view(), name="alias-me"),
    path("token/introspection", VentanillaIntrospectView.as_view(), name="alias-introspection"),
    path("token/revocation", dot.RevokeTokenView.as_view(), name="alias-revocation"),
    path("session/end", VentanillaLogoutView.as_view(), name="alias-session-end"),
]
