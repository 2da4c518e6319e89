"""CLI command groups. Each module has ``register(app)`` and imports heavy code inside commands."""

from trigkit.commands import backends, events

COMMAND_MODULES = [backends, events]
