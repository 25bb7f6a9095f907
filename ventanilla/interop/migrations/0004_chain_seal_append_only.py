"""Database-level guarantee that chain seals are never updated or deleted (PostgreSQL and SQLite), like the
message log they sign."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION interop_chainseal_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'interop_chainseal is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER interop_chainseal_no_update BEFORE UPDATE OR DELETE ON interop_chainseal
  FOR EACH ROW EXECUTE FUNCTION interop_chainseal_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS interop_chainseal_no_update ON interop_chainseal;
DROP FUNCTION IF EXISTS interop_chainseal_append_only();
"""
SQLITE_UP = [
    "CREATE TRIGGER interop_chainseal_no_update BEFORE UPDATE ON interop_chainseal "
    "BEGIN SELECT RAISE(ABORT, 'interop_chainseal is append-only'); END;",
    "CREATE TRIGGER interop_chainseal_no_delete BEFORE DELETE ON interop_chainseal "
    "BEGIN SELECT RAISE(ABORT, 'interop_chainseal is append-only'); END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS interop_chainseal_no_update;",
    "DROP TRIGGER IF EXISTS interop_chainseal_no_delete;",
]


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("interop", "0003_hardening")]
    operations = [migrations.RunPython(up, down)]
