from django.urls import path

from . import bolivia_api, views

app_name = "documents"

urlpatterns = [
    # Public verification
    path("verificar/", views.verify_form, name="verify-form"),
    path("verificar/<str:code>/", views.verify, name="verify"),
    # Mi cuenta: documents the person is asked to approve
    path("cuenta/aprobaciones/", views.my_approvals, name="my-approvals"),
    path("cuenta/aprobaciones/<str:public_id>/", views.my_approval, name="my-approval"),
    path(
        "cuenta/aprobaciones/<str:public_id>/documento", views.my_approval_content, name="my-approval-content"
    ),
    path(
        "cuenta/aprobaciones/<str:public_id>/constancia.pdf",
        views.my_approval_evidence,
        name="my-approval-evidence",
    ),
    # Back office
    path("gestion/documentos/", views.manage_documents, name="manage-documents"),
    path(
        "gestion/documentos/<str:code>/revocar/", views.manage_document_revoke, name="manage-document-revoke"
    ),
    path("gestion/documentos/aprobaciones/", views.manage_approvals, name="manage-approvals"),
    path("gestion/documentos/aprobaciones/nueva/", views.manage_approval_new, name="manage-approval-new"),
    path("gestion/documentos/aprobaciones/<str:public_id>/", views.manage_approval, name="manage-approval"),
    path(
        "gestion/documentos/aprobaciones/<str:public_id>/documento",
        views.manage_approval_content,
        name="manage-approval-content",
    ),
    # Bolivia-compatible approval API (Ciudadanía Digital «Aprobación de documentos»)
    path("aprobacion-documentos/v1/aprobaciones", bolivia_api.approval_create, name="bo-approval-create"),
    path(
        "aprobacion-documentos/v1/aprobaciones/<str:public_id>",
        bolivia_api.approval_status,
        name="bo-approval-status",
    ),
]
