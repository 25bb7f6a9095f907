from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ventanilla.demo"
    label = "demo"
    verbose_name = "Datos de demostración"
