"""CLI command groups. Each module has ``register(app)`` and imports heavy code inside commands."""

from trigkit.cli import (
    backends,
    bench,
    compare,
    compile,
    compress,
    demo,
    emulate,
    events,
    export,
    report,
    train,
)

COMMAND_MODULES = [
    backends,
    events,
    train,
    compress,
    compile,
    compare,
    export,
    report,
    bench,
    emulate,
    demo,
]
