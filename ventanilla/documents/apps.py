from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "ventanilla.documents"
    label = "documents"
    verbose_name = "Documentos verificables"
