"""Exit codes of the `chaosjax` command and the guard that turns exceptions into them."""

from __future__ import annotations

import functools
import os

import typer

import chaosjax as cj

from .. import report as rep

EXIT_USER = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A mistake in what the user asked for: shown as one line, no traceback."""


def error(message: str) -> None:
    """Print `Error: message` on stderr."""
    # Plain text on stderr, never wrapped: scripts and tests match on it.
    typer.echo(f"Error: {message}", err=True)


def os_error_message(e: OSError) -> str:
    """One line for a failed read or write: the file, then the cause."""
    from .._files import WriteError

    cause = e.strerror or (os.strerror(e.errno) if e.errno else str(e).split("\n")[0])
    if isinstance(e, WriteError):
        return f"cannot write {str(e.filename)!r}: {cause} (any previous file is unchanged)."
    return f"{str(e.filename)!r}: {cause}." if e.filename else f"{cause}."


def guard(fn):
    """Turn user errors, divergences and Ctrl-C into messages and exit codes.

    With `CHAOSJAX_DEBUG` set in the environment the exceptions propagate (tracebacks).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if os.environ.get("CHAOSJAX_DEBUG"):
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except (UserError, rep.ReportError) as e:
            error(str(e))
            raise typer.Exit(EXIT_USER) from None
        except cj.DivergenceError as e:
            error(f"{e} Try a smaller --dt or other parameters.")
            raise typer.Exit(EXIT_FAILED) from None
        except ValueError as e:
            # chaosjax validates every argument before compiling: these are user errors.
            error(f"{e}")
            raise typer.Exit(EXIT_USER) from None
        except OSError as e:
            # A full disk, a file-size limit, a vanished directory: name the file.
            error(os_error_message(e))
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper
