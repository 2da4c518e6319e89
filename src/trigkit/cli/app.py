"""The `trigkit` command line: one Typer app; each command is a thin call into the library.

Command groups live in :mod:`trigkit.cli.commands` (one module each, registering on ``app``).
A :class:`~trigkit.core.errors.TrigkitError` is printed as one line with exit code 1; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys

import click
import typer

from trigkit.core import numba_extensions
from trigkit.core.errors import TrigkitError

app = typer.Typer(
    name="trigkit",
    help="Take a trained jet tagger to a trigger: compile for GPU/FPGA, benchmark, emulate menus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}


def _typer_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """(usage, exit, abort) exception classes of click and of typer >= 0.2x's vendored click."""
    usage: list[type[BaseException]] = [click.ClickException]
    exits: list[type[BaseException]] = [click.exceptions.Exit, typer.Exit]
    aborts: list[type[BaseException]] = [click.exceptions.Abort, typer.Abort]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException
    except ImportError:  # typer that still uses the click package
        pass
    else:
        usage.append(VendoredClickException)
    return tuple(usage), tuple(dict.fromkeys(exits)), tuple(dict.fromkeys(aborts))


_USAGE_ERRORS, _EXITS, _ABORTS = _typer_exceptions()


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
    from trigkit.cli.commands import COMMAND_MODULES

    for module in COMMAND_MODULES:
        module.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if argv is None:  # the command's own process (not a caller's, e.g. a test's)
        numba_extensions.skip()
    debug = "--debug" in args
    try:
        app(args=args, prog_name="trigkit", standalone_mode=False)
    except TrigkitError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        return 1
    except _ABORTS:
        typer.echo("aborted", err=True)
        return 130
    except _USAGE_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except _EXITS as exc:
        return int(exc.exit_code)  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
