"""directory filter columns: language and weekday bitmasks, a listing index, and on
PostgreSQL a stored search vector

The directory filters and orders on `profile` alone: languages and weekdays become bitmask
columns (kept by the profile service), `(visibility, status, updated_at, user_id)` lets the newest
listed profiles be read in order, and PostgreSQL ranks on a stored tsvector instead of
re-parsing every matching document.

Plain ALTER TABLE ADD COLUMN on SQLite (no batch copy), so the FTS triggers of
e1f0a2b3c4d5 stay in place.

Revision ID: f3a4b5c6d7e8
Revises: e1f0a2b3c4d5
Create Date: 2026-11-23 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3a4b5c6d7e8'
down_revision = 'e1f0a2b3c4d5'
branch_labels = None
depends_on = None

LANGUAGE_CODES = (
    "de", "en", "fr", "es", "it", "nl", "pl", "pt", "tr", "ru", "uk", "ar", "fa", "sv", "da",
    "cs", "el", "ro", "hu", "hr", "zh", "ja", "hi",
)


def upgrade():
    op.add_column('profile', sa.Column('language_mask', sa.Integer(), server_default='0', nullable=False))
    op.add_column('profile', sa.Column('weekday_mask', sa.Integer(), server_default='0', nullable=False))
    op.drop_index('ix_profile_directory', table_name='profile')
    op.create_index('ix_profile_listing', 'profile', ['visibility', 'status', 'updated_at', 'user_id'], unique=False)
    cases = " ".join(f"WHEN '{code}' THEN {1 << i}" for i, code in enumerate(LANGUAGE_CODES))
    op.execute(
        "UPDATE profile SET language_mask = COALESCE((SELECT SUM(CASE code "
        f"{cases} ELSE 0 END) FROM profile_language l WHERE l.user_id = profile.user_id), 0)"
    )
    # one bit per weekday that has at least one window
    op.execute(
        "UPDATE profile SET weekday_mask = COALESCE((SELECT SUM(DISTINCT CASE w.weekday "
        "WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 8 WHEN 4 THEN 16 WHEN 5 THEN 32 "
        "ELSE 64 END) FROM availability_window w WHERE w.user_id = profile.user_id), 0)"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "ALTER TABLE profile ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_document)) STORED"
        )
        op.execute("DROP INDEX IF EXISTS ix_profile_search_document_fts")
        op.execute("CREATE INDEX ix_profile_search_vector ON profile USING gin (search_vector)")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_profile_search_vector")
        op.execute("ALTER TABLE profile DROP COLUMN search_vector")
        op.execute(
            "CREATE INDEX ix_profile_search_document_fts ON profile "
            "USING gin (to_tsvector('simple', search_document))"
        )
    op.drop_index('ix_profile_listing', table_name='profile')
    op.create_index('ix_profile_directory', 'profile', ['visibility', 'status'], unique=False)
    op.drop_column('profile', 'weekday_mask')
    op.drop_column('profile', 'language_mask')
