"""Wait until a freshly started Neo4j answers on Bolt; with auth on, set the generated password once.

A new Neo4j database has user ``neo4j`` with password ``neo4j`` marked expired: the only thing that
user may do is change its own password, which we do over Bolt with ``ALTER CURRENT USER``, so no
``neo4j-admin`` is needed. Used by start.sh; needs only the ``neo4j`` Python driver.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, ServiceUnavailable, SessionExpired

INITIAL_PASSWORD = "neo4j"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def answers(uri: str, auth: tuple[str, str] | None) -> None:
    """Raise unless a query runs with these credentials."""
    with GraphDatabase.driver(uri, auth=auth) as driver:
        driver.verify_connectivity()
        driver.execute_query("RETURN 1")  # the default database, once it is online


def set_initial_password(uri: str, password: str) -> None:
    with GraphDatabase.driver(uri, auth=("neo4j", INITIAL_PASSWORD)) as driver:
        driver.execute_query(
            "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
            old=INITIAL_PASSWORD,
            new=password,
            database_="system",
        )


def ready(uri: str, password: str | None) -> bool:
    """True once the server answers with the wanted credentials; fixes a fresh server's password."""
    if password is None:
        answers(uri, None)
        return True
    try:
        answers(uri, ("neo4j", password))
        return True
    except AuthError:
        pass
    try:
        set_initial_password(uri, password)
    except AuthError as exc:
        raise SystemExit(
            f"Neo4j at {uri} rejects the stored password and the initial one; "
            f"the data directory holds another password ({exc.message})."
        ) from exc
    answers(uri, ("neo4j", password))
    print("Initial Neo4j password set (stored in the password file)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--auth", choices=["on", "off"], default="on")
    parser.add_argument("--password-file", type=Path)
    parser.add_argument("--pid", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    password = args.password_file.read_text().strip() if args.auth == "on" else None
    deadline = time.monotonic() + args.timeout
    last_error = ""
    while time.monotonic() < deadline:
        if args.pid and not process_alive(args.pid):
            print(f"Neo4j process {args.pid} exited", file=sys.stderr)
            return 1
        try:
            if ready(args.uri, password):
                return 0
        except (ServiceUnavailable, SessionExpired, ConnectionError, OSError) as exc:
            last_error = str(exc)  # not listening yet
        except ClientError as exc:
            last_error = exc.message or str(exc)  # e.g. the system database is still starting
        time.sleep(1.0)
    print(f"Neo4j at {args.uri} not ready after {args.timeout:.0f}s: {last_error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
