"""A throwaway PostgreSQL server for the tests: initdb in a temporary folder, pg_ctl on a free loopback port.

One server per test session (:class:`PgServer`); each test gets a database of its own, created from an
empty template (``CREATE DATABASE ... TEMPLATE``, a file copy). The server listens on 127.0.0.1 only, its
socket in its folder, with trust authentication (nothing but this machine's tests reach it), and without
fsync (its data live as long as the session). Run as root, initdb and pg_ctl run as the ``postgres``
system user (initdb refuses root), over a folder that user owns.

Without the binaries the tests that need the server skip, saying why; with ``FEDCAT_REQUIRE_POSTGRES=1``
(CI installs PostgreSQL) they fail instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

REQUIRE_ENV = "FEDCAT_REQUIRE_POSTGRES"
TEMPLATE = "fedcat_template"


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian's layout, else initdb on the PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A PostgreSQL server of this test session."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="fedcat-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres"
        self._as: list[str] = []
        self._count = 0
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres system user
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root and there is no postgres system user to run PostgreSQL as") \
                    from exc
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}{tail}")

    def start(self) -> PgServer:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
                  "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start", timeout=90)
        self.sql(f"CREATE DATABASE {TEMPLATE}")
        return self

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}?connect_timeout=10"

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        self._count += 1
        name = f"fedcat_test_{self._count}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                      "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
