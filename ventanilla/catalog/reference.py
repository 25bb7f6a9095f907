"""Reference lists shared by every installation: themes (categories) and life events."""

from __future__ import annotations

CATEGORIES: list[tuple[str, str, str]] = [
    ("identidad-y-documentos", "Identidad y documentos", "Cédula, pasaporte, certificados personales"),
    ("familia-y-registro-civil", "Familia y registro civil", "Nacimientos, matrimonios, defunciones"),
    ("salud", "Salud", "Seguro de salud, registros sanitarios, discapacidad"),
    ("educacion", "Educación", "Títulos, certificados de estudio, becas"),
    ("trabajo-y-empleo", "Trabajo y empleo", "Contratos, finiquitos, empleo público"),
    ("empresas-y-comercio", "Empresas y comercio", "Registro de empresas, licencias, marcas"),
    ("impuestos-y-finanzas", "Impuestos y finanzas", "Tributos, facturación, reclamos financieros"),
    ("vehiculos-y-transporte", "Vehículos y transporte", "Licencias de conducir, registro de vehículos"),
    ("vivienda-y-construccion", "Vivienda y construcción", "Permisos de construcción, catastro urbano"),
    ("justicia-y-seguridad", "Justicia y seguridad", "Antecedentes, denuncias, derechos"),
    ("migracion-y-viajes", "Migración y viajes", "Pasaportes, visas, residencia"),
    ("proteccion-social", "Protección social", "Jubilación, rentas, bonos"),
    (
        "agropecuario-y-medio-ambiente",
        "Agropecuario y medio ambiente",
        "Sanidad, bosques, licencias ambientales",
    ),
    ("tierras-y-catastro", "Tierras y catastro", "Saneamiento, titulación, registro de propiedad"),
    (
        "servicios-basicos-y-telecomunicaciones",
        "Servicios básicos y telecomunicaciones",
        "Electricidad, gas, agua, telefonía e internet",
    ),
]

LIFE_EVENTS: list[tuple[str, str, str]] = [
    ("nacimiento", "Tuve un bebé", "Inscripción, identidad y salud del recién nacido"),
    ("estudios", "Estudio", "Certificados, títulos y becas"),
    ("empleo", "Busco o cambio de trabajo", "Contratos, seguridad social y certificados"),
    ("empresa", "Abro una empresa", "Registro, impuestos y licencias"),
    ("vehiculo", "Compro o conduzco un vehículo", "Licencias, registro e impuestos"),
    ("vivienda", "Compro o construyo una vivienda", "Propiedad, permisos y servicios"),
    ("matrimonio", "Me caso", "Matrimonio y unión libre"),
    ("viaje", "Viajo al exterior", "Pasaporte, visas y apostilla"),
    ("salud", "Cuido mi salud", "Seguros y atención"),
    ("discapacidad", "Persona con discapacidad", "Carnet, beneficios y derechos"),
    ("jubilacion", "Me jubilo", "Pensiones y rentas"),
    ("defuncion", "Falleció un familiar", "Defunción, herencia y pensiones"),
]
