from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "ventanilla.interop"
    label = "interop"
    verbose_name = "Interoperabilidad"
