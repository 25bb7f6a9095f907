"""The public JSON API at /api/v1/ (OpenAPI 3 at /api/v1/openapi.json, docs at /api/v1/docs)."""

from ninja import NinjaAPI

from ventanilla.cases.api import router as cases_router
from ventanilla.catalog.api import router as catalog_router
from ventanilla.core.api import install_error_handlers
from ventanilla.documents.api import router as documents_router
from ventanilla.inbox.api import router as inbox_router
from ventanilla.interop.api import router as interop_router

api = NinjaAPI(
    title="Ventanilla API",
    version="1.0.0",
    description=(
        "API pública de la plataforma Ventanilla: catálogo nacional de trámites (Portal de Trámites), "
        "instituciones y estadísticas; expedientes, notificaciones y verificación de documentos para los "
        "sistemas de las instituciones (token de credenciales de cliente de Ciudadanía Digital con el "
        "alcance correspondiente); catálogo de interoperabilidad. Los errores se devuelven como "
        '`{"errors": [{"code", "message", "field"}]}` con un estado 4xx.'
    ),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
api.add_router("/", catalog_router)
api.add_router("/", cases_router)
api.add_router("/", documents_router)
api.add_router("/", inbox_router)
api.add_router("/", interop_router)
