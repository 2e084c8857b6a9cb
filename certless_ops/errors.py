"""Errors shared by the certless_ops commands."""


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, no traceback, exit status 2.

    The message names the thing, the value and what was expected.
    """
