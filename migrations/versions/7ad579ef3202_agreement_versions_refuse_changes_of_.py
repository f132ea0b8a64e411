"""agreement versions refuse changes of their words only (an account deletion may clear who wrote one)

The trigger of 8e44e7e8a958 refused every UPDATE of agreement_version. Deleting a member
sets agreement_version.created_by_id to NULL (ON DELETE SET NULL), which is an UPDATE, so
the trigger refused account deletion. Now it refuses a change of what a signature points
at (agreement, number, canonical text, hash, changed section, time) and lets the author's
id go. SQLite: BEFORE UPDATE OF those columns; PostgreSQL: the function compares OLD and
NEW (an UPDATE that names a column but keeps its value passes there).

Revision ID: 7ad579ef3202
Revises: ad5cb83fc7e1
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7ad579ef3202'
down_revision = 'ad5cb83fc7e1'
branch_labels = None
depends_on = None

GUARDED = ('agreement_id', 'number', 'canonical', 'content_hash', 'changed_section', 'created_at')
MESSAGE = 'agreement versions never change'


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        changed = ' OR '.join(f'NEW.{c} IS DISTINCT FROM OLD.{c}' for c in GUARDED)
        op.execute(
            "CREATE OR REPLACE FUNCTION agreement_version_immutable() RETURNS trigger AS $$ "
            f"BEGIN IF {changed} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END; "
            "$$ LANGUAGE plpgsql"
        )
    else:
        op.execute("DROP TRIGGER agreement_version_immutable")
        op.execute(
            "CREATE TRIGGER agreement_version_immutable BEFORE UPDATE OF "
            f"{', '.join(GUARDED)} ON agreement_version "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE OR REPLACE FUNCTION agreement_version_immutable() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
    else:
        op.execute("DROP TRIGGER agreement_version_immutable")
        op.execute(
            "CREATE TRIGGER agreement_version_immutable BEFORE UPDATE ON agreement_version "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
