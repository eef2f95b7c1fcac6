"""Alembic's entry: migrations run on the connection xiaobao.db.migrate hands over (there is no
alembic.ini; the application applies them on start, and `xiaobao init` does too)."""

from alembic import context

context.configure(connection=context.config.attributes["connection"], transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
