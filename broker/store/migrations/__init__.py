"""Alembic migrations of the broker's store; run them with ``dsve db upgrade`` or ``broker.store.migrate``."""
