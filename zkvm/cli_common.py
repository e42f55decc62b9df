"""What every ``zkvm`` command module shares: the error boundary and one-line failures.

The command modules (``cli``, ``cli_prove``, ``cli_compile``, ``cli_bench``,
``cli_onchain``) import this module and nothing of each other's registration:
each defines plain functions and a ``register(app)`` that :mod:`zkvm.cli`
calls, so no module registers commands by import side effect and the
imports stay one-way (docs/architecture.md).

The error boundary (:func:`user_errors`) sorts every exception a command
raises into one of two kinds:

* a **user error**, any :data:`USER_ERRORS` type (the
  :class:`zkvm.errors.ZkvmUserError` family): one line ``error: <what,
  where, what to do>`` on stderr, exit status 2;
* anything else is a **bug in zkvm**: one line ``internal error, please
  report: <type>: <message>`` and a hint, exit status 3; the full traceback
  is printed with ``zkvm --debug ...`` or ``ZKVM_DEBUG=1``.
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
from typing import Any, Callable, TypeVar

import typer

from zkvm.errors import EXIT_INTERNAL, EXIT_USER, ZkvmUserError, debug_env, internal_error_line

#: Exceptions reported as one ``error:`` line and exit status 2: the user-error family
#: (bad input, unreadable files, bad options, and every verification failure).
USER_ERRORS: tuple[type[BaseException], ...] = (ZkvmUserError,)

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug = False   # set by the app's --debug option (zkvm.cli)


def set_debug(on: bool) -> None:
    """``zkvm --debug``: print the traceback of internal errors."""
    _State.debug = bool(on)


def debug_enabled() -> bool:
    """``--debug`` was given or ``ZKVM_DEBUG`` is set to something other than ``0``/empty."""
    return _State.debug or debug_env()


def fail(message: str) -> None:
    """Print ``error: message`` on one line to stderr and exit with status 2.

    Messages that already read ``FILE:LINE:COL: error: ...`` are printed as they are.
    """
    line = " ".join(str(message).split("\n"))
    if not re.match(r"^\S+:\d+:\d+: error: ", line):
        line = "error: " + line
    typer.echo(line, err=True)
    raise typer.Exit(EXIT_USER)


def internal_error(e: BaseException, doing: str | None = None) -> None:
    """Report a bug: one line (and the traceback under ``--debug``), exit status 3."""
    if debug_enabled():
        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    typer.echo(internal_error_line(e, doing), err=True)
    raise typer.Exit(EXIT_INTERNAL)


def user_errors(fn: F) -> F:
    """The error boundary of a command: user errors as one line, anything else as a bug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):   # typer's own control flow
            raise
        except USER_ERRORS as e:
            fail(str(e))
        except Exception as e:  # noqa: BLE001 - the boundary: a bug, reported as such
            internal_error(e)

    return wrapper  # type: ignore[return-value]


def names_list(names: list[str], most: int = 8) -> str:
    """``a, b, c`` or, for long lists, ``a, b, ... z (40 tensors)``."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most - 1])}, ... {names[-1]} ({len(names)} tensors)"


def save_program(prog: Any, out: str, input_vis: str | None = None,
                 weights_vis: str | None = None, outputs_vis: str | None = None,
                 weights_out: str | None = None, quiet: bool = False) -> Any:
    """Apply visibility flags, write the public program and, with hidden weights, the weights file.

    Returns the program as written (``quiet``: print only the weights file and commitment).
    """
    from zkvm.isa.visibility import with_visibility
    from zkvm.isa.weights_file import weights_path

    if input_vis or weights_vis or outputs_vis:
        prog = with_visibility(prog, inputs=input_vis, weights=weights_vis, outputs=outputs_vis)
    wpath = None
    if prog.hidden_weights:
        wpath = weights_out or weights_path(out)
    try:
        prog.save(out)
        if wpath:
            prog.private_weights().save(wpath)
    except OSError as e:
        fail(f"cannot write {e.filename}: {e.strerror}")
    if not quiet:
        typer.echo(f"wrote {out}: {len(prog.instructions)} instructions, {prog.n_params} "
                   f"parameters, digest {prog.digest_hex}")
    if wpath:
        typer.echo(f"wrote {wpath}: private weights ({names_list(prog.hidden_weights)}); "
                   "keep it secret, it is needed to prove")
    if prog.commitment is not None:
        typer.echo(f"model commitment {prog.commitment.hex}")
    return prog
