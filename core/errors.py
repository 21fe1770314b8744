"""The one error tree of the core.

TwinomeError
├── UserError          the person asked for something that cannot be done; shown to them
│   ├── ParseError     the command line itself is malformed (unknown word, bad argument)
│   │   └── NotACommand  free text (a greeting, a question) where a command was expected
│   ├── NotFound       the trio, member, invite, id… does not exist (for this person)
│   ├── Forbidden      it exists but this person may not act on it
│   └── Conflict       the state does not allow it now (full trio, already voted…)
└── StorageError       the database is unusable (newer than the code, corrupt)

User errors become a friendly reply in exactly one place (``core.service``); anything
else is a bug: it is logged and the person gets a short apology, never a traceback.
"""

from __future__ import annotations

from core.effects import Choice


class TwinomeError(Exception):
    """Base of every error the core raises on purpose."""


class UserError(TwinomeError):
    """Something the person asked cannot be done; ``hint`` says what to try instead, and
    ``choices`` offer it as commands to pick."""

    def __init__(self, message: str, hint: str | None = None,
                 choices: tuple[Choice, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.choices = choices


class ParseError(UserError):
    """The command line is malformed."""


class NotACommand(ParseError):
    """The line is free text, not a mistyped command: it gets a kind pointer, not an error."""


class NotFound(UserError):
    """The thing named does not exist, or is not visible to this person."""


class Forbidden(UserError):
    """The person may not do this."""


class Conflict(UserError):
    """The current state does not allow this."""


class StorageError(TwinomeError):
    """The database cannot be used by this version of the code."""
