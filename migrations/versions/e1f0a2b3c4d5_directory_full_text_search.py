"""directory full-text search

SQLite: an FTS5 external-content table `profile_fts` over profile.search_document,
kept in sync by three triggers on `profile`. PostgreSQL: a GIN expression index on
to_tsvector('simple', search_document). Neither is in the models (autogenerate
skips them: peerhub.profiles.search.include_in_migrations).

Careful on SQLite: a later `batch_alter_table('profile')` copies the table and drops
the old one, which drops these triggers with it. Such a migration must re-create the
triggers (and run 'rebuild'); tests/test_directory_search.py checks they exist.

Revision ID: e1f0a2b3c4d5
Revises: c8769b9102a3
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e1f0a2b3c4d5'
down_revision = 'c8769b9102a3'
branch_labels = None
depends_on = None


# The document is stemmed and folded in Python already; unicode61 only splits on spaces.
SQLITE_UP = (
    """
    CREATE VIRTUAL TABLE profile_fts USING fts5(
        search_document,
        content='profile',
        content_rowid='user_id',
        tokenize='unicode61'
    )
    """,
    """
    CREATE TRIGGER profile_fts_after_insert AFTER INSERT ON profile BEGIN
        INSERT INTO profile_fts(rowid, search_document)
        VALUES (new.user_id, new.search_document);
    END
    """,
    """
    CREATE TRIGGER profile_fts_after_delete AFTER DELETE ON profile BEGIN
        INSERT INTO profile_fts(profile_fts, rowid, search_document)
        VALUES ('delete', old.user_id, old.search_document);
    END
    """,
    # Only when the document (or the key) changes: status or updated_at writes stay cheap.
    """
    CREATE TRIGGER profile_fts_after_update AFTER UPDATE OF search_document, user_id
    ON profile BEGIN
        INSERT INTO profile_fts(profile_fts, rowid, search_document)
        VALUES ('delete', old.user_id, old.search_document);
        INSERT INTO profile_fts(rowid, search_document)
        VALUES (new.user_id, new.search_document);
    END
    """,
    "INSERT INTO profile_fts(profile_fts) VALUES ('rebuild')",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS profile_fts_after_update",
    "DROP TRIGGER IF EXISTS profile_fts_after_delete",
    "DROP TRIGGER IF EXISTS profile_fts_after_insert",
    "DROP TABLE IF EXISTS profile_fts",
)

POSTGRESQL_UP = (
    "CREATE INDEX ix_profile_search_document_fts ON profile "
    "USING gin (to_tsvector('simple', search_document))",
)

POSTGRESQL_DOWN = ("DROP INDEX IF EXISTS ix_profile_search_document_fts",)


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        _run(SQLITE_UP)
    elif dialect == 'postgresql':
        _run(POSTGRESQL_UP)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        _run(SQLITE_DOWN)
    elif dialect == 'postgresql':
        _run(POSTGRESQL_DOWN)
