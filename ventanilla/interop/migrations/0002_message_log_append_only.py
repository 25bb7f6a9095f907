"""Database-level guarantee that message-log rows are never updated or deleted (PostgreSQL and SQLite)."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION interop_messagelogentry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'interop_messagelogentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER interop_messagelogentry_no_update BEFORE UPDATE OR DELETE ON interop_messagelogentry
  FOR EACH ROW EXECUTE FUNCTION interop_messagelogentry_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS interop_messagelogentry_no_update ON interop_messagelogentry;
DROP FUNCTION IF EXISTS interop_messagelogentry_append_only();
"""
SQLITE_UP = [
    "CREATE TRIGGER interop_messagelogentry_no_update BEFORE UPDATE ON interop_messagelogentry "
    "BEGIN SELECT RAISE(ABORT, 'interop_messagelogentry is append-only'); END;",
    "CREATE TRIGGER interop_messagelogentry_no_delete BEFORE DELETE ON interop_messagelogentry "
    "BEGIN SELECT RAISE(ABORT, 'interop_messagelogentry is append-only'); END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS interop_messagelogentry_no_update;",
    "DROP TRIGGER IF EXISTS interop_messagelogentry_no_delete;",
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
    dependencies = [("interop", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
