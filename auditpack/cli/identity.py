"""Who runs a command, as USER@HOST: recorded as a run's requester, a token's creator, a customer-evidence actor."""

from __future__ import annotations


def user_at_host() -> str:
    """The login name and host name; "unknown" for a login name the system does not have (some containers).
    The login name comes from the environment: callers bound its length (`evidence.labels.fit_label`)."""
    import getpass  # here, not at start-up: only commands that record who acted need them
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
