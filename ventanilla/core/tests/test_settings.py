"""Production settings fail loudly: each check starts a real Python process with a controlled environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ventanilla.core.crypto import generate_rsa_pem

REPO_ROOT = Path(__file__).resolve().parents[3]
GOOD_SECRET = "s3cr3t-" + "x" * 40
PRINT_SECURITY = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, settings.DEBUG)"
)


OIDC_KEY = generate_rsa_pem()


@pytest.fixture
def prod_env(tmp_path: Path) -> dict[str, str]:
    """A complete production environment; tests remove or spoil one variable at a time."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "VENTANILLA_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": GOOD_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "ALLOWED_HOSTS": "ventanilla.gob.bo",
        "OIDC_RSA_PRIVATE_KEY": OIDC_KEY,
        "REDIS_URL": "redis://127.0.0.1:6379/0",  # never contacted: these checks only load settings
    }


def _start(
    env: dict[str, str], code: str = "import django; django.setup()"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_repo_root_is_where_manage_py_lives() -> None:
    assert (REPO_ROOT / "manage.py").is_file()
    assert (REPO_ROOT / "config" / "settings" / "prod.py").is_file()


def test_complete_environment_starts_with_secure_defaults(prod_env: dict[str, str]) -> None:
    result = _start(prod_env, PRINT_SECURITY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "31536000", "False"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "OIDC_RSA_PRIVATE_KEY"])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_missing_variable_refuses_to_start(prod_env: dict[str, str], missing: str, how: str) -> None:
    if how == "unset":
        del prod_env[missing]
    else:
        prod_env[missing] = ""
    result = _start(prod_env, PRINT_SECURITY)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "ImproperlyConfigured" in result.stderr
    message = next(line for line in result.stderr.splitlines() if "Faltan variables de entorno" in line)
    assert message.endswith(f"obligatorias para producción: {missing}")


def test_all_missing_variables_are_named_at_once(prod_env: dict[str, str]) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "OIDC_RSA_PRIVATE_KEY"):
        del prod_env[name]
    result = _start(prod_env)
    assert result.returncode != 0
    assert (
        "Faltan variables de entorno obligatorias para producción: "
        "SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, OIDC_RSA_PRIVATE_KEY" in (result.stderr)
    )


@pytest.mark.parametrize("secret", ["corta", "x" * 31])
def test_short_secret_key_is_refused(prod_env: dict[str, str], secret: str) -> None:
    prod_env["SECRET_KEY"] = secret
    result = _start(prod_env)
    assert result.returncode != 0
    assert "SECRET_KEY debe tener al menos 32 caracteres." in result.stderr


def test_secret_key_of_exactly_32_characters_is_accepted(prod_env: dict[str, str]) -> None:
    prod_env["SECRET_KEY"] = "k" * 32
    result = _start(prod_env)
    assert result.returncode == 0, result.stderr


def test_unknown_country_refuses_to_start(prod_env: dict[str, str]) -> None:
    prod_env["VENTANILLA_COUNTRY"] = "XX"
    result = _start(prod_env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "XX" in last_line
    assert "VENTANILLA_COUNTRY" in last_line
    assert "BO" in last_line
    assert "PY" in last_line


@pytest.mark.parametrize(
    ("country", "tz"), [("PY", "America/Asuncion"), ("py", "America/Asuncion"), ("BO", "America/La_Paz")]
)
def test_known_country_selects_its_pack(prod_env: dict[str, str], country: str, tz: str) -> None:
    prod_env["VENTANILLA_COUNTRY"] = country
    result = _start(
        prod_env,
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.COUNTRY_PACK.code, settings.TIME_ZONE)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [country.upper(), tz]


def test_dev_and_test_settings_need_no_environment(prod_env: dict[str, str]) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "OIDC_RSA_PRIVATE_KEY"):
        del prod_env[name]
    for module in ("config.settings.dev", "config.settings.test"):
        result = _start({**prod_env, "DJANGO_SETTINGS_MODULE": module})
        assert result.returncode == 0, result.stderr
