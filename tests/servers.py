"""What a test needs to start a server process of its own: a free port, and the
test database's URL for the process's environment."""

import socket

from django.db import connection


def free_port() -> int:
    """A port nothing listens on (also what a test points at to find a service closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
