"""Alembic environment: always run in-process on the connection we pass."""

from alembic import context

from zsad_desktop.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
