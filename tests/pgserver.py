"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temporary folder, a
free port on 127.0.0.1, run as the ``postgres`` system user (initdb refuses root).

Every test gets a database of its own, copied from a template that is migrated once.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg

from core.storage.db import Database

TEMPLATE = "twinome_template"
_names = itertools.count(1)


def binaries() -> Path | None:
    """The folder of the newest installed PostgreSQL's initdb and pg_ctl, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgServer:
    """One server, started in a temporary folder and stopped (folder removed) at the end."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.bin = bin_dir
        self.durable = durable  # fsync each commit, as a deployment does (the benchmarks)
        self.dir = Path(tempfile.mkdtemp(prefix="twinome-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """initdb (no locale: bytewise text order, as SQLite's) and start on 127.0.0.1."""
        self.data.mkdir()
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.data, "postgres", "postgres")
        self._run(self.bin / "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-locale", "-E", "UTF8", "--no-sync")
        self._pg_ctl("start")
        try:  # on a thread of its own: the caller may be inside an event loop
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, self._template()).result()
        except BaseException:
            self.stop()
            raise

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c max_pred_locks_per_transaction=1024")
        if not self.durable:  # what the tests prove is not durability: cheap commits
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(self.bin / "pg_ctl", "-D", str(self.data), "-o", options, "-w",
                  "-l", str(self.data / "log"), action, *extra)

    def restart(self) -> None:
        """Restart the server as an operator would (``fast``: every session is ended, what
        was committed stays; an ``immediate`` stop would lose the last commits here, with
        ``synchronous_commit`` off), on the same port."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        try:
            self._run(self.bin / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def _template(self) -> None:
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await admin.close()
        db = await Database.open(self.url(TEMPLATE))
        await db.close()

    async def create(self, *, empty: bool = False) -> str:
        """A new database (migrated, or ``empty``); returns its URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            template = "template0" if empty else TEMPLATE
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        finally:
            await admin.close()
        return self.url(name)

    async def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create` (its connections are closed by force)."""
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
        finally:
            await admin.close()
