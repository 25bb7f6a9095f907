"""Metaservices (X-Road's listClients / listMethods / allowedMethods / getOpenAPI), over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from ventanilla.interop.models import AccessRight

from .conftest import World, make_service

pytestmark = pytest.mark.urls("ventanilla.interop.tests.urls")


def _get(world: World, path: str, **headers: str) -> httpx.Response:
    return httpx.get(
        f"{world.base}/interop/r1/meta/{path}", headers={"Authorization": f"Bearer {world.token}", **headers}
    )


def test_members(world: World) -> None:
    data = _get(world, "members").json()
    codes = {m["code"]: m for m in data["members"]}
    assert set(codes) == {"INSTA", "INSTB"}
    assert codes["INSTA"]["subsystems"] == [
        {"code": "REGISTRO", "name": "Registro civil A", "kind": "proveedor"}
    ]


def test_services_of_a_subsystem(world: World) -> None:
    make_service(world.provider, "borrador", world.service.base_url, status="borrador")
    data = _get(world, "INSTA/REGISTRO/services").json()
    assert [s["id"] for s in data["services"]] == ["INSTA/REGISTRO/personas"]
    assert "base_url" not in data["services"][0] and "provider_secret" not in str(data)
    assert _get(world, "INSTA/NADA/services").status_code == 404


def test_allowed_services_of_the_caller(world: World) -> None:
    make_service(world.provider, "otro", world.service.base_url)
    data = _get(world, "allowed").json()
    assert data["client"] == "INSTB/EXPEDIENTES"
    assert [s["id"] for s in data["services"]] == ["INSTA/REGISTRO/personas"]
    assert data["services"][0]["purpose"] == world.right.purpose
    AccessRight.objects.filter(pk=world.right.pk).update(status="revocado")
    assert _get(world, "allowed").json()["services"] == []


def test_openapi_is_served_with_the_mediator_as_server(world: World) -> None:
    world.service.openapi = {
        "openapi": "3.0.3",
        "info": {"title": "x", "version": "1"},
        "paths": {
            "/personas/{id}": {
                "servers": [{"url": "http://10.0.0.6/ruta"}],
                "get": {"summary": "Una persona", "servers": [{"url": "http://10.0.0.7/operacion"}]},
            }
        },
        "servers": [{"url": "http://10.0.0.5:8080/interno"}],
    }
    world.service.save(update_fields=["openapi"])
    data = _get(world, "INSTA/REGISTRO/personas/openapi").json()
    assert data["openapi"] == "3.0.3"
    assert data["servers"][0]["url"].endswith("/interop/r1/INSTA/REGISTRO/personas")
    assert "10.0.0.5" not in str(data)
    assert "10.0.0.6" not in str(data) and "10.0.0.7" not in str(data)  # path- and operation-level too
    assert data["paths"]["/personas/{id}"]["get"]["summary"] == "Una persona"
    assert _get(world, "INSTA/REGISTRO/nada/openapi").status_code == 404


def test_metaservices_need_a_subsystem_token(world: World) -> None:
    response = httpx.get(f"{world.base}/interop/r1/meta/members")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "bad_client"
    assert (
        httpx.post(
            f"{world.base}/interop/r1/meta/members", headers={"Authorization": f"Bearer {world.token}"}
        ).status_code
        == 405
    )
