"""The errors of the rules engine: a syntax error with its position, evaluation errors."""

from __future__ import annotations


class RulesSyntaxError(Exception):
    """The rules file does not parse; ``str()`` names the file, line and column."""

    def __init__(self, message: str, line: int, column: int, source: str = "firestore.rules"):
        super().__init__(f"{source}:{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column
        self.source = source


class EvalError(Exception):
    """An expression that has no value (a missing field, a wrong type): the condition
    it is part of is not true, except where ``&&``/``||`` make it irrelevant."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def at(self, line: int, column: int) -> EvalError:
        """The error with the position of the innermost expression that raised it."""
        if not self.line:
            self.line, self.column = line, column
        return self


class Undecided(EvalError):
    """For a query: the value depends on document data the query's filters do not fix,
    so the rule cannot be shown to hold for every result. Treated like an error."""
