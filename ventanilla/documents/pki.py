"""PDF rendering (WeasyPrint), PAdES signing and validation (pyHanko), and the keys behind them.

Keys at rest: private keys are stored Fernet-encrypted with a key derived (HKDF-SHA256) from SECRET_KEY
(SECRET_KEY_FALLBACKS still decrypt after a rotation). In production an institution's key is imported from
a PKCS#12 file (``manage.py documents_key_import``); the development CA («Ventanilla CA de desarrollo») and
its per-institution certificates are created on first use only while ``DOCUMENTS_DEV_CA`` is on, and are
trusted for verification only then.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ventanilla.core.errors import DomainError

from .models import CertificateAuthority, SigningKey

logger = logging.getLogger(__name__)

DEV_CA_NAME = "Ventanilla CA de desarrollo"
SIGNATURE_FIELD = "FirmaInstitucional"


# -- encryption at rest -----------------------------------------------------------------------------------


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ventanilla-documents", info=b"signing-key-encryption"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys if key])


def encrypt_key(pem: bytes) -> str:
    return _fernet().encrypt(pem).decode()


def decrypt_key(token: str) -> bytes:
    return _fernet().decrypt(token.encode())


def derived_secret(purpose: str) -> bytes:
    """A stable secret for ``purpose`` derived from SECRET_KEY (e.g. the HMAC key of one callback)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ventanilla-documents", info=purpose.encode()
    ).derive(settings.SECRET_KEY.encode())


# -- key material -----------------------------------------------------------------------------------------


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organization: str) -> x509.Name:
    country = getattr(settings, "VENTANILLA_COUNTRY", "BO")[:2]
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _dev_ca() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    ca = CertificateAuthority.objects.filter(name=DEV_CA_NAME, is_development=True).first()
    if ca is None:
        key = _new_key()
        now = timezone.now()
        subject = _name(DEV_CA_NAME, "Ventanilla (desarrollo)")
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        try:
            with transaction.atomic():
                ca = CertificateAuthority.objects.create(
                    name=DEV_CA_NAME,
                    certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
                    private_key_encrypted=encrypt_key(_key_pem(key)),
                    is_development=True,
                )
        except IntegrityError:  # another process created it first
            ca = CertificateAuthority.objects.get(name=DEV_CA_NAME)
    cert = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    loaded = serialization.load_pem_private_key(decrypt_key(ca.private_key_encrypted), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return cert, loaded


def dev_key_create(institution: Any) -> SigningKey:
    """Issue a development signing certificate for ``institution`` under the development CA."""
    ca_cert, ca_key = _dev_ca()
    key = _new_key()
    now = timezone.now()
    not_after = now + dt.timedelta(days=1825)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(institution.name, institution.name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                institution=institution,
                certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
                chain_pem=ca_cert.public_bytes(serialization.Encoding.PEM).decode(),
                private_key_encrypted=encrypt_key(_key_pem(key)),
                is_development=True,
                not_after=not_after,
            )
    except IntegrityError:  # created concurrently
        return SigningKey.objects.get(institution=institution, is_active=True)


def signing_key_for(institution: Any) -> SigningKey:
    """The institution's active key; in development it is created on first use."""
    key = SigningKey.objects.filter(institution_id=institution.pk, is_active=True).first()
    if key is not None and (not key.is_development or settings.DOCUMENTS_DEV_CA):
        return key
    if settings.DOCUMENTS_DEV_CA:
        return dev_key_create(institution)
    raise DomainError(
        message="La institución no tiene configurada una clave de firma (documents_key_import).",
        code="no_signing_key",
        status=409,
    )


def pkcs12_load(data: bytes, password: bytes | None) -> tuple[str, str, bytes]:
    """(certificate PEM, chain PEM, private key PEM) from a PKCS#12 file."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    if key is None or cert is None:
        raise DomainError(message="El archivo PKCS#12 no tiene clave privada y certificado.", code="pkcs12")
    chain = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in extra or [])
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), chain, key_pem


def trust_roots_pem() -> list[bytes]:
    """Certificates trusted when verifying: configured roots, imported roots, and the development CA
    only while DOCUMENTS_DEV_CA is on."""
    roots: list[bytes] = []
    for path in getattr(settings, "DOCUMENTS_TRUST_ROOTS", []):
        with open(path, "rb") as handle:
            roots.append(handle.read())
    authorities = CertificateAuthority.objects.all()
    if not settings.DOCUMENTS_DEV_CA:
        authorities = authorities.filter(is_development=False)
    roots.extend(ca.certificate_pem.encode() for ca in authorities)
    return roots


# -- rendering --------------------------------------------------------------------------------------------


def render_pdf(html: str, *, attachments: list[tuple[str, bytes]] | None = None) -> bytes:
    """HTML → PDF. Only data: URIs are fetched, so a template can never make the server call out."""
    from weasyprint import HTML, Attachment
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    files = [Attachment(string=content, name=name) for name, content in attachments or []]
    document = HTML(string=html, url_fetcher=fetcher, base_url=settings.DOCUMENTS_PUBLIC_BASE_URL)
    pdf: bytes = document.write_pdf(attachments=files or None, pdf_variant=None)
    return pdf


def qr_data_uri(url: str) -> str:
    import segno

    uri: str = segno.make(url, error="m").svg_data_uri(scale=4, border=2)
    return uri


# -- signing ----------------------------------------------------------------------------------------------


def sign_pdf(pdf: bytes, key: SigningKey, *, reason: str, location: str) -> bytes:
    """PAdES B-B signature with the institution's key."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    (cert,) = list(load_certs_from_pemder_data(key.certificate_pem.encode()))
    chain = list(load_certs_from_pemder_data(key.chain_pem.encode())) if key.chain_pem.strip() else []
    private = load_private_key_from_pemder_data(decrypt_key(key.private_key_encrypted), passphrase=None)
    signer = signers.SimpleSigner(
        signing_cert=cert, signing_key=private, cert_registry=SimpleCertificateStore.from_certs(chain)
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason[:200],
        location=location[:200],
    )
    out = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    signers.sign_pdf(writer, meta, signer=signer, output=out)
    return out.getvalue()


# -- validation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    present: bool
    intact: bool
    trusted: bool
    entire_file: bool
    signer: str
    signed_at: dt.datetime | None

    @property
    def ok(self) -> bool:
        return self.present and self.intact and self.trusted and self.entire_file


NO_SIGNATURE = SignatureCheck(False, False, False, False, "", None)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_signature(pdf: bytes, *, moment: dt.datetime | None = None) -> SignatureCheck:
    """Validate the last signature of ``pdf`` against the trust roots; never raises for bad input.

    ``moment``: validate the certificate chain as of that time instead of now. For documents we issued, the
    issue time recorded in our database is trusted, so a signature stays valid after the signing
    certificate expires (there is no timestamp token to prove the signing time otherwise)."""
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            return NO_SIGNATURE
        roots = [cert for pem in trust_roots_pem() for cert in load_certs_from_pemder_data(pem)]
        context = ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment
        )
        status = validate_pdf_signature(signatures[-1], context)
    except Exception:
        logger.info("documents: PDF signature could not be validated (malformed or unsupported file)")
        return SignatureCheck(True, False, False, False, "", None)
    subject = status.signing_cert.subject.native if status.signing_cert is not None else {}
    return SignatureCheck(
        present=True,
        intact=bool(status.intact),
        trusted=bool(status.valid and status.trusted),
        entire_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=str(subject.get("common_name", "")),
        signed_at=status.signer_reported_dt,
    )


def embedded_code(pdf: bytes) -> str:
    """The verification code written in the PDF's metadata (Keywords), or '' if unreadable."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        keywords = reader.document_meta_view.keywords or []
        return str(keywords[0]).strip() if keywords else ""
    except Exception:
        return ""
