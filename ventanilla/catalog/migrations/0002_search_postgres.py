"""PostgreSQL search: Spanish full-text with unaccent (config ``vt_spanish``) and trigram typo tolerance.

On SQLite nothing is created: search there uses the stems the services store in ``search_stems``.
"""

from django.db import migrations

PG_UP = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE OR REPLACE FUNCTION vt_unaccent(text) RETURNS text
  AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'vt_spanish') THEN
    CREATE TEXT SEARCH CONFIGURATION vt_spanish (COPY = pg_catalog.spanish);
    ALTER TEXT SEARCH CONFIGURATION vt_spanish
      ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS catalog_procedure_fts
  ON catalog_procedure USING gin (to_tsvector('vt_spanish'::regconfig, search_document));
CREATE INDEX IF NOT EXISTS catalog_procedure_name_trgm
  ON catalog_procedure USING gin (vt_unaccent(lower(name)) gin_trgm_ops);
"""
PG_DOWN = """
DROP INDEX IF EXISTS catalog_procedure_name_trgm;
DROP INDEX IF EXISTS catalog_procedure_fts;
DROP TEXT SEARCH CONFIGURATION IF EXISTS vt_spanish;
DROP FUNCTION IF EXISTS vt_unaccent(text);
"""


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
