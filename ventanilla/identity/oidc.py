"""Ciudadanía Digital as an OpenID Connect provider, on django-oauth-toolkit.

- Only applications the agency approved (``ClientRegistration.status == aprobada``) can sign users in or
  get tokens, and only for the scopes they were granted.
- ``sub`` is the person's UUID. The ID token carries standard claims per scope plus ``acr`` (level of
  assurance) and ``amr`` (methods used); userinfo is shaped per client: standard OIDC claims, or the
  shape Bolivia's Ciudadanía Digital relying parties already read.
- Consent is remembered per client and scope set (``Consent``) until the person withdraws it;
  ``prompt=consent`` always asks again. ``acr_values``/the client's minimum level are enforced:
  a person below it is refused with ``unmet_authentication_requirements``.
- Every sign-in to a client is written to the person's «¿Quién usó mis datos?».
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from oauth2_provider.exceptions import InvalidOIDCClientError, OAuthToolkitError
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import (
    AuthorizationView,
    ConnectDiscoveryInfoView,
    IntrospectTokenView,
    RPInitiatedLogoutView,
)
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from ventanilla.core.services import audit_record

from .models import (
    ASSURANCE_ORDER,
    AccountSession,
    AssuranceLevel,
    AuthorizationContext,
    ClientRegistration,
    Consent,
    DataUse,
    Person,
)

Application = get_application_model()

SCOPE_DATA_LABELS = {
    "profile": "nombres, apellidos y fecha de nacimiento",
    "email": "correo electrónico",
    "phone": "número de celular",
    "celular": "número de celular",
    "documento_identidad": "documento de identidad",
    "fecha_nacimiento": "fecha de nacimiento",
    "offline_access": "acceso mientras usted no esté conectado",
}


def pkce_required(client_id: str) -> bool:
    """PKCE (S256) is mandatory for public clients; confidential ones may use it (recommended)."""
    client_type = (
        Application.objects.filter(client_id=client_id).values_list("client_type", flat=True).first()
    )
    return client_type != Application.CLIENT_CONFIDENTIAL


def registration_for(application: Any) -> ClientRegistration | None:
    if application is None:
        return None
    try:
        return application.registration
    except ClientRegistration.DoesNotExist:
        return None


def person_for(user: Any) -> Person | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.person
    except Person.DoesNotExist:
        return None


def session_amr(user: Any, session_key: str | None) -> list[str]:
    """Methods used to open *this* browser session (recorded at sign-in: pwd, otp)."""
    if not session_key:
        return ["pwd"]
    session = AccountSession.objects.filter(user=user, session_key=session_key).values("amr").first()
    return list(session["amr"]) if session and session["amr"] else ["pwd"]


def granted_amr(request: Any) -> list[str]:
    """amr for a token request: from the authorization that produced the code (or, on refresh, the latest
    authorization of this person for this client)."""
    context = None
    code = getattr(request, "code", None)
    if code:
        context = AuthorizationContext.objects.filter(code=code).values("amr").first()
    if context is None and getattr(request, "client", None) is not None and request.user is not None:
        context = (
            AuthorizationContext.objects.filter(user=request.user, application=request.client)
            .order_by("-created_at")
            .values("amr")
            .first()
        )
    return list(context["amr"]) if context and context["amr"] else ["pwd"]


def _full_surname(person: Person) -> str:
    return " ".join(p for p in (person.first_surname, person.second_surname) if p)


def _document(person: Person) -> dict[str, str]:
    return {
        "tipo_documento": person.document_type,
        "numero_documento": person.document_number,
        "complemento": person.document_complement,
    }


def standard_claims(user: Any, scopes: set[str]) -> dict[str, Any]:
    """OIDC standard claims (Core §5.1) released by scope, plus ``documento_identidad``."""
    person = person_for(user)
    claims: dict[str, Any] = {"sub": str(person.uuid if person else user.uuid)}
    if person is None:
        if "profile" in scopes:
            claims.update(
                name=user.get_full_name() or user.get_username(),
                given_name=user.first_name,
                family_name=user.last_name,
            )
        if "email" in scopes and user.email:
            claims.update(email=user.email, email_verified=False)
        return claims
    if "profile" in scopes:
        claims.update(
            name=person.full_name,
            given_name=person.first_names,
            family_name=_full_surname(person),
            updated_at=int(person.updated_at.timestamp()),
        )
    if ("profile" in scopes or "fecha_nacimiento" in scopes) and person.birth_date:
        claims["birthdate"] = person.birth_date.isoformat()
    if "email" in scopes and person.email:
        claims.update(email=person.email, email_verified=person.email_verified)
    if ("phone" in scopes or "celular" in scopes) and person.mobile:
        claims.update(phone_number=person.mobile, phone_number_verified=person.mobile_verified)
    if "documento_identidad" in scopes:
        claims["documento_identidad"] = _document(person)
    return claims


def bolivia_claims(user: Any, scopes: set[str]) -> dict[str, Any]:
    """Userinfo as Bolivia's Ciudadanía Digital returns it, so existing relying parties work unchanged."""
    person = person_for(user)
    claims: dict[str, Any] = {"sub": str(person.uuid if person else user.uuid)}
    if person is None:
        return claims
    if "profile" in scopes or "documento_identidad" in scopes:
        claims["profile"] = {
            "documento_identidad": _document(person),
            "nombre": {
                "nombres": person.first_names,
                "primer_apellido": person.first_surname,
                "segundo_apellido": person.second_surname,
            },
        }
    if "email" in scopes and person.email:
        claims["email"] = person.email
    if ("celular" in scopes or "phone" in scopes) and person.mobile:
        claims["celular"] = person.mobile
    if "fecha_nacimiento" in scopes and person.birth_date:
        claims["fecha_nacimiento"] = person.birth_date.strftime("%d/%m/%Y")
    return claims


class VentanillaValidator(OAuth2Validator):
    """django-oauth-toolkit's validator with the platform's rules (approval, scopes, claims, audit)."""

    oidc_claim_scope = None  # claims are filtered by scope in standard_claims()/bolivia_claims()

    # --- authorization codes: one read of the grant per token request ----------------------------------
    # django-oauth-toolkit reads the same Grant row five times while exchanging a code (validate_code,
    # confirm_redirect_uri, PKCE challenge and method, scopes, nonce). The row is read once per oauthlib
    # request and reused; the code is still consumed by DOT's delete (one of two concurrent exchanges wins).
    @staticmethod
    def _grant(request: Any, code: str) -> Any:
        cache = getattr(request, "_vt_grants", None)
        if cache is None:
            cache = {}
            request._vt_grants = cache
        if code not in cache:
            cache[code] = get_grant_model().objects.select_related("user").filter(code=code).first()
        return cache[code]

    def _grant_of(self, request: Any, code: str, client: Any) -> Any:
        grant = self._grant(request, code) if request is not None else None
        if grant is None or client is None or grant.application_id != client.pk:
            return None
        return grant

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        grant = self._grant_of(request, code, client)
        if grant is None or grant.is_expired():
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Any, *args: Any, **kwargs: Any
    ) -> bool:
        request = args[0] if args else kwargs.get("request")
        if request is None:
            return bool(super().confirm_redirect_uri(client_id, code, redirect_uri, client, *args, **kwargs))
        grant = self._grant_of(request, code, client)
        return grant is not None and bool(grant.redirect_uri_allowed(redirect_uri))

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        grant = self._grant_of(request, code, getattr(request, "client", None))
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        grant = self._grant_of(request, code, getattr(request, "client", None))
        return (grant.code_challenge_method or None) if grant is not None else None

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> list[str]:
        grant = self._grant(request, code)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id: str, code: str, redirect_uri: str, request: Any) -> Any:
        grant = self._grant(request, code)
        return (grant.nonce or None) if grant is not None else None

    # --- clients -----------------------------------------------------------------------------------
    def _approved(self, request: Any) -> bool:
        registration = registration_for(getattr(request, "client", None))
        return registration is not None and registration.status == ClientRegistration.Status.APPROVED

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().validate_client_id(client_id, request, *args, **kwargs) and self._approved(request)

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().authenticate_client(request, *args, **kwargs) and self._approved(request)

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().authenticate_client_id(client_id, request, *args, **kwargs) and self._approved(request)

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        return pkce_required(client_id)

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        registration = registration_for(client)
        if registration is None:
            return False
        return set(scopes) <= (registration.scope_set & set(settings.OIDC_SCOPES))

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        registration = registration_for(getattr(request, "client", None))
        return ["openid"] if registration and "openid" in registration.scope_set else []

    # prompt=none: the view itself requires a signed-in user and refuses with consent_required when the
    # person has not agreed yet, so oauthlib's silent checks pass here.
    def validate_silent_login(self, request: Any) -> bool:
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        return True

    def validate_user_match(self, id_token_hint: str | None, scopes: Any, claims: Any, request: Any) -> bool:
        # oauthlib's request carries no session user; VentanillaAuthorizationView.get compares the
        # id_token_hint's subject with the signed-in person before this runs.
        return True

    # --- claims --------------------------------------------------------------------------------------
    def get_oidc_claims(self, token: Any, token_handler: Any, request: Any) -> dict[str, Any]:
        """Claims of the ID token: standard claims per scope, acr and amr."""
        claims = standard_claims(request.user, set(request.scopes))
        person = person_for(request.user)
        claims["acr"] = person.assurance_level if person else AssuranceLevel.BASICO
        claims["amr"] = granted_amr(request)
        return claims

    def get_userinfo_claims(self, request: Any) -> dict[str, Any]:
        scopes = set(request.scopes)
        registration = registration_for(getattr(request.access_token, "application", None))
        if registration and registration.claim_shape == ClientRegistration.ClaimShape.BOLIVIA:
            return bolivia_claims(request.user, scopes)
        return standard_claims(request.user, scopes)

    def get_discovery_claims(self, request: Any) -> list[str]:
        return [
            "sub",
            "name",
            "given_name",
            "family_name",
            "birthdate",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "documento_identidad",
            "acr",
            "amr",
            "auth_time",
            "updated_at",
        ]

    # --- audit ----------------------------------------------------------------------------------------
    def save_authorization_code(
        self, client_id: str, code: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        AuthorizationContext.objects.create(
            code=code["code"],
            user=request.user,
            application=request.client,
            amr=list(getattr(request, "amr", None) or ["pwd"]),
        )
        person = person_for(request.user)
        registration = registration_for(request.client)
        if person is not None:
            DataUse.objects.create(
                person=person,
                kind=DataUse.Kind.SIGN_IN,
                institution_id=registration.institution_id if registration else None,
                application_name=request.client.name,
                purpose="Inicio de sesión con Ciudadanía Digital",
                data=", ".join(SCOPE_DATA_LABELS.get(s, s) for s in request.scopes if s != "openid")[:400],
            )

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> None:
        # A refresh token (long-lived access while the person is away) only with the offline_access scope.
        if request.grant_type != "client_credentials" and "offline_access" not in (request.scopes or []):
            token.pop("refresh_token", None)
        super().save_bearer_token(token, request, *args, **kwargs)


# ---------------------------------------------------------------------------------------------------
# Consent
# ---------------------------------------------------------------------------------------------------


def _scope_key(scopes: list[str] | set[str]) -> str:
    return " ".join(sorted(set(scopes)))


def consent_covers(user: Any, application: Any, scopes: list[str]) -> bool:
    wanted = set(scopes)
    for granted in Consent.objects.filter(
        user=user, application=application, withdrawn_at__isnull=True
    ).values_list("scopes", flat=True):
        if wanted <= set(granted.split()):
            return True
    return False


def consent_grant(*, actor: Any, application: Any, scopes: list[str]) -> Consent:
    """Remember that ``actor`` agreed to give ``application`` these scopes (audited)."""
    with transaction.atomic():
        consent, created = Consent.objects.get_or_create(
            user=actor,
            application=application,
            scopes=_scope_key(scopes),
            withdrawn_at__isnull=True,
            defaults={"granted_at": timezone.now()},
        )
        if created:
            registration = registration_for(application)
            audit_record(
                actor=actor,
                action="consent.grant",
                target=consent,
                institution=registration.institution_id if registration else None,
                after={"application": application.client_id, "scopes": consent.scopes},
            )
    return consent


def level_required(registration: ClientRegistration | None, acr_values: str) -> str:
    """The strictest of the client's minimum level and the levels the request asks for (acr_values)."""
    levels = [registration.min_assurance] if registration else []
    levels += [v for v in acr_values.split() if v in ASSURANCE_ORDER]
    return max(levels, key=lambda v: ASSURANCE_ORDER[v], default=AssuranceLevel.BASICO)


REAUTH_SECONDS = 120  # prompt=login: a sign-in older than this is repeated
REQUIRED_LEVEL_SESSION_KEY = "vt_oidc_required_level"


def _without_params(url: str, *names: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(query)))


def id_token_hint_subject(hint: str, application: Any) -> str | None:
    """The ``sub`` of an ID token this provider issued to ``application`` (signature checked; an expired
    token is still a valid hint, OIDC Core §3.1.2.1), or None when it is not one."""
    import json

    from jwcrypto import jwt as jwcrypto_jwt
    from jwcrypto.common import JWException

    key = application.jwk_key
    if not hint or len(hint) > 8192 or key is None:
        return None
    try:
        token = jwcrypto_jwt.JWT(key=key, jwt=hint, check_claims=False)
        claims = json.loads(token.claims)
    except (JWException, ValueError, TypeError):
        return None
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if application.client_id not in audiences or not isinstance(claims.get("sub"), str):
        return None
    return str(claims["sub"])


def subject_of(user: Any) -> str:
    person = person_for(user)
    return str(person.uuid if person else user.uuid)


class VentanillaAuthorizationView(AuthorizationView):
    """Authorization endpoint: fresh sign-in on demand, level of assurance (checked on the GET that shows
    the consent screen *and* on the POST that answers it), remembered consent, Spanish consent screen."""

    template_name = "identity/oidc/authorize.html"

    def _refuse(
        self, application: Any, credentials: dict[str, Any], error: str, description: str
    ) -> HttpResponse:
        oauth_error = CustomOAuth2Error(error=error, description=description, state=credentials.get("state"))
        oauth_error.redirect_uri = credentials["redirect_uri"]
        return self.error_response(
            OAuthToolkitError(error=oauth_error, redirect_uri=credentials["redirect_uri"]), application
        )

    def _unmet_level(self, request: HttpRequest, application: Any, required: str) -> str | None:
        """The person's level when it is below ``required`` (audited), else None."""
        person = person_for(request.user)
        current = person.assurance_level if person else AssuranceLevel.BASICO
        if ASSURANCE_ORDER[current] >= ASSURANCE_ORDER[required]:
            return None
        audit_record(
            actor=request.user,
            action="oidc.level_refused",
            target=application,
            metadata={"required": required, "current": current},
        )
        return current

    def create_authorization_response(
        self, request: Any, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        # The methods of *this* session travel with the code, so the ID token states them (amr).
        credentials = {**credentials, "amr": session_amr(request.user, request.session.session_key)}
        return super().create_authorization_response(
            request=request, scopes=scopes, credentials=credentials, allow=allow
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = Application.objects.select_related("registration__institution").get(
            client_id=credentials["client_id"]
        )
        prompt = set(request.GET.get("prompt", "").split())
        hint = request.GET.get("id_token_hint", "")
        if hint:
            # The client says who it expects: a session of someone else must not answer for them.
            expected = id_token_hint_subject(hint, application)
            if expected is None:
                return self._refuse(application, credentials, "invalid_request", "id_token_hint no válido.")
            if expected != subject_of(request.user):
                audit_record(actor=request.user, action="oidc.user_mismatch", target=application)
                if "none" in prompt:
                    return self._refuse(
                        application, credentials, "login_required", "La sesión abierta es de otra persona."
                    )
                logout(request)
                return redirect_to_login(_without_params(request.get_full_path(), "prompt"))
        if "login" in prompt or "max_age" in request.GET:
            try:
                limit = REAUTH_SECONDS if "login" in prompt else max(int(request.GET["max_age"]), 0)
            except ValueError:
                limit = 0
            last = getattr(request.user, "last_login", None)
            if last is None or (timezone.now() - last).total_seconds() > limit:
                audit_record(actor=request.user, action="oidc.reauthenticate", target=application)
                logout(request)
                return redirect_to_login(_without_params(request.get_full_path(), "prompt", "max_age"))
        required = level_required(registration_for(application), request.GET.get("acr_values", ""))
        current = self._unmet_level(request, application, required)
        if current is not None:
            return self._refuse(
                application,
                credentials,
                "unmet_authentication_requirements",
                f"Se requiere nivel de seguridad «{required}»; la cuenta tiene «{current}».",
            )
        request.session.setdefault(REQUIRED_LEVEL_SESSION_KEY, {})[application.client_id] = required
        request.session.modified = True
        if "consent" not in prompt and consent_covers(request.user, application, scopes):
            try:
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=self.request, scopes=" ".join(scopes), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return self.error_response(error, application)
            return self.redirect(uri, application)
        if "none" in prompt:
            return self._refuse(
                application, credentials, "consent_required", "La persona aún no autorizó a esta aplicación."
            )
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        application = (
            Application.objects.select_related("registration")
            .filter(client_id=request.POST.get("client_id", ""))
            .first()
        )
        if application is not None:
            asked = request.session.get(REQUIRED_LEVEL_SESSION_KEY, {}).get(application.client_id, "")
            required = level_required(registration_for(application), asked)
            if self._unmet_level(request, application, required) is not None:
                return self.render_to_response(
                    {
                        "error": CustomOAuth2Error(
                            error="unmet_authentication_requirements",
                            description=f"Se requiere nivel de seguridad «{required}».",
                        )
                    },
                    status=403,
                )
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        registration = registration_for(kwargs.get("application"))
        context["registration"] = registration
        bolivia = (
            registration is not None and registration.claim_shape == ClientRegistration.ClaimShape.BOLIVIA
        )
        items = []
        for scope in kwargs.get("scopes", []):
            if scope == "openid":
                continue
            label = settings.OIDC_SCOPES.get(scope, scope)
            if bolivia and scope == "profile":
                label = "Nombres, apellidos y documento de identidad"
            items.append((scope, label))
        context["scope_items"] = items
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        if form.cleaned_data.get("allow") and response.status_code in (301, 302):
            location = response.get("Location", "")
            if "code=" in location:
                application = Application.objects.get(client_id=form.cleaned_data["client_id"])
                consent_grant(
                    actor=self.request.user,
                    application=application,
                    scopes=form.cleaned_data.get("scope", "").split(),
                )
        return response


class VentanillaIntrospectView(IntrospectTokenView):
    """RFC 7662 introspection that answers only about the calling client's own tokens and identifies the
    person by ``sub`` (never the username, which contains the document number)."""

    @staticmethod
    def _caller_client_id(request: HttpRequest) -> str:
        import base64
        from urllib.parse import unquote

        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                return ""
            return unquote(decoded.partition(":")[0])
        if header.startswith("Bearer "):
            import hashlib

            checksum = hashlib.sha256(header[7:].strip().encode()).hexdigest()
            token = (
                get_access_token_model()
                .objects.filter(token_checksum=checksum)
                .select_related("application")
                .first()
            )
            return token.application.client_id if token and token.application else ""
        return request.POST.get("client_id", "")

    def _answer(self, request: HttpRequest, token_value: str | None) -> HttpResponse:
        import calendar
        import hashlib

        if not token_value:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "Falta el token."}, status=400
            )
        checksum = hashlib.sha256(token_value.encode()).hexdigest()
        token = (
            get_access_token_model()
            .objects.select_related("user", "application")
            .filter(token_checksum=checksum)
            .first()
        )
        caller = self._caller_client_id(request)
        if (
            token is None
            or not token.is_valid()
            or token.application is None
            or (token.application.client_id != caller)
        ):
            return JsonResponse({"active": False})
        data: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.application.client_id,
            "token_type": "Bearer",
            "exp": int(calendar.timegm(token.expires.timetuple())),
        }
        if token.user is not None:
            person = person_for(token.user)
            data["sub"] = str(person.uuid if person else token.user.uuid)
        return JsonResponse(data)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._answer(request, request.GET.get("token"))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._answer(request, request.POST.get("token"))


class VentanillaLogoutView(RPInitiatedLogoutView):
    """RP-initiated logout: only approved clients may ask for a post-logout redirect, and only the requesting
    client's tokens of the person are revoked (never other institutions' sessions)."""

    def validate_logout_request(
        self, id_token_hint: Any, client_id: Any, post_logout_redirect_uri: Any
    ) -> Any:
        application, token_user = super().validate_logout_request(
            id_token_hint, client_id, post_logout_redirect_uri
        )
        if post_logout_redirect_uri:
            registration = registration_for(application)
            if registration is None or registration.status != ClientRegistration.Status.APPROVED:
                raise InvalidOIDCClientError()
        return application, token_user

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: Any = None,
        state: Any = None,
        token_user: Any = None,
    ) -> HttpResponse:
        user = token_user or self.request.user
        if application is not None and getattr(user, "is_authenticated", False):
            access_tokens = list(get_access_token_model().objects.filter(user=user, application=application))
            for refresh in get_refresh_token_model().objects.filter(access_token__in=access_tokens):
                refresh.revoke()
            for token in access_tokens:
                if token.id_token:
                    token.id_token.revoke()
                token.revoke()
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)


class VentanillaDiscoveryView(ConnectDiscoveryInfoView):
    """Discovery document with our levels of assurance, consent prompt and the S256-only PKCE method."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        import json

        data = json.loads(response.content)
        data["acr_values_supported"] = [AssuranceLevel.BASICO.value, AssuranceLevel.VERIFICADO.value]
        data["code_challenge_methods_supported"] = ["S256"]
        data["prompt_values_supported"] = sorted(
            {*data.get("prompt_values_supported", []), "consent", "none"}
        )
        data["claims_parameter_supported"] = False
        data["service_documentation"] = request.build_absolute_uri("/api/v1/docs")
        data["ui_locales_supported"] = ["es"]
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out
