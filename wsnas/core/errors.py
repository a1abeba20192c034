"""The one exception family wsnas raises for bad input: the CLI prints its message, never a traceback."""


class WsnasError(Exception):
    """Bad input or state the user can fix; the message names the input, the problem and the fix."""
