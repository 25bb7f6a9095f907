from django.urls import path

from . import backoffice, views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("tramites/", views.procedure_search, name="procedure-search"),
    path("tramites/<slug:slug>/", views.procedure_detail, name="procedure-detail"),
    path("tramites/<slug:slug>/calificar/", views.procedure_rate, name="procedure-rate"),
    path("instituciones/", views.institution_list, name="institution-list"),
    path("instituciones/<str:code>/", views.institution_detail, name="institution-detail"),
    path("estadisticas/", views.statistics, name="statistics"),
    path("simplificacion/", views.simplification_report, name="simplification-report"),
    path("simplificacion/reporte.csv", views.simplification_report_csv, name="simplification-report-csv"),
    path("datos/catalogo.<str:fmt>", views.catalog_export, name="catalog-export"),
    *backoffice.urlpatterns,
]
