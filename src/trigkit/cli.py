"""The `trigkit` command line: one Typer app; each command is a thin call into the library.

Command groups live in :mod:`trigkit.commands` (one module each, registering on ``app``).
A :class:`~trigkit.errors.TrigkitError` is printed as one line with exit code 1; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys

import click
import typer

from trigkit.errors import TrigkitError

app = typer.Typer(
    name="trigkit",
    help="Take a trained jet tagger to a trigger: compile for GPU/FPGA, benchmark, emulate menus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level."),
) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Only trigkit's own loggers get louder: numba's DEBUG output is pages of compiler IR.
    logging.getLogger("trigkit").setLevel(
        logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    )


def _register_commands() -> None:
    from trigkit.commands import COMMAND_MODULES

    for module in COMMAND_MODULES:
        module.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, prog_name="trigkit", standalone_mode=False)
    except TrigkitError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        return 1
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
