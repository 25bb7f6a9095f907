from django.urls import path

from . import backoffice, views

app_name = "cases"

urlpatterns = [
    path("tramites/<slug:slug>/iniciar/", views.apply_start, name="apply-start"),
    path("mis-tramites/", views.my_cases, name="my-cases"),
    path("mis-tramites/borrador/<uuid:uuid>/", views.draft_edit, name="draft-edit"),
    path("mis-tramites/borrador/<uuid:uuid>/revisar/", views.draft_review, name="draft-review"),
    path("mis-tramites/<str:code>/", views.my_case, name="my-case"),
    path("mis-tramites/<str:code>/corregir/", views.case_correct, name="case-correct"),
    path("mis-tramites/<str:code>/documentos/<str:which>.pdf", views.case_document, name="case-document"),
    path("seguimiento/", views.status_check, name="status-check"),
    *backoffice.urlpatterns,
]
