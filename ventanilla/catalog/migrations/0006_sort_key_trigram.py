"""Trigram index on sort_key (the folded name) for ranking and typo tolerance, replacing the index on
vt_unaccent(lower(name)), which made PostgreSQL unaccent every candidate row."""

from django.db import migrations

PG_UP = """
CREATE INDEX IF NOT EXISTS catalog_procedure_sort_key_trgm ON catalog_procedure USING gin (sort_key gin_trgm_ops);
DROP INDEX IF EXISTS catalog_procedure_name_trgm;
"""
PG_DOWN = """
CREATE INDEX IF NOT EXISTS catalog_procedure_name_trgm
  ON catalog_procedure USING gin (vt_unaccent(lower(name)) gin_trgm_ops);
DROP INDEX IF EXISTS catalog_procedure_sort_key_trgm;
"""


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_procedure_search_vector")]
    operations = [migrations.RunPython(up, down)]
