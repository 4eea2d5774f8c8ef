"""The embedding cache on disk: vectors keyed by (model id, dimensions, content hash).

Only chunks whose content hash is new for the model are embedded again; the in-memory vector index
is rebuilt from here at start. One SQLite file (`embeddings.sqlite3`) in WAL mode: several processes
(a server per editor window, the CLI) read and write it at once, each write is one transaction, and a
torn or foreign file is detected (SQLite's own checks, the schema version, each vector's byte length),
moved aside and started afresh rather than trusted.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "embeddings.sqlite3"
QUERY_BATCH = 500  # hashes per SELECT … IN (…), under SQLite's variable limit
BUSY_TIMEOUT_MS = 10_000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowsight" / "embeddings"


class EmbeddingCache:
    """Thread-safe (one connection behind a lock). `directory=None` is the user cache directory;
    `EmbeddingCache.in_memory()` keeps nothing on disk."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.path: Path | None
        if directory == ":memory:":
            self.path = None
        else:
            root = Path(directory) if directory is not None else default_cache_dir()
            root.mkdir(parents=True, exist_ok=True)
            self.path = root / FILE_NAME
        self._lock = threading.Lock()
        self._connection = self._open()

    @classmethod
    def in_memory(cls) -> EmbeddingCache:
        return cls(":memory:")

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as error:
            if self.path is None:
                raise
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}-{os.getpid()}")
            log.warning("embedding cache %s is unreadable (%s); moved to %s and started afresh", self.path, error, aside.name)
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                except FileNotFoundError:
                    pass
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            ":memory:" if self.path is None else str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path is not None:
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
            with connection:
                connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, dimensions INTEGER NOT NULL, content_hash TEXT NOT NULL,"
                    " vector BLOB NOT NULL, PRIMARY KEY (model, dimensions, content_hash)) WITHOUT ROWID"
                )
            (schema,) = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if schema != str(SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {schema}, expected {SCHEMA_VERSION}")
            connection.execute("SELECT count(*) FROM vectors WHERE model = ''").fetchone()
        except BaseException:
            connection.close()
            raise
        return connection

    def get_many(self, model_id: str, dimensions: int, content_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `content_hashes`; a row of the wrong size counts as a miss."""
        wanted = list(dict.fromkeys(content_hashes))
        found: dict[str, np.ndarray] = {}
        expected_bytes = dimensions * 4
        with self._lock:
            for start in range(0, len(wanted), QUERY_BATCH):
                part = wanted[start : start + QUERY_BATCH]
                placeholders = ",".join("?" * len(part))
                try:
                    rows = self._connection.execute(
                        f"SELECT content_hash, vector FROM vectors WHERE model = ? AND dimensions = ? AND content_hash IN ({placeholders})",
                        (model_id, dimensions, *part),
                    ).fetchall()
                except sqlite3.DatabaseError as error:
                    log.warning("embedding cache read failed (%s); those chunks will be embedded again", error)
                    continue
                for content_hash, blob in rows:
                    if len(blob) == expected_bytes:
                        found[content_hash] = np.frombuffer(blob, dtype="<f4").copy()
        return found

    def put_many(self, model_id: str, dimensions: int, vectors: Mapping[str, np.ndarray]) -> None:
        """Stores the vectors (one transaction). A failed write is logged, never raised: the cache is an optimisation."""
        rows = []
        for content_hash, vector in vectors.items():
            array = np.asarray(vector, dtype="<f4")
            if array.shape != (dimensions,):
                raise ValueError(f"vector of shape {array.shape} for {dimensions} dimensions")
            rows.append((model_id, dimensions, content_hash, array.tobytes()))
        with self._lock:
            try:
                with self._connection:
                    self._connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
            except sqlite3.DatabaseError as error:
                log.warning("embedding cache write failed (%s); %d vectors not kept", error, len(rows))

    def count(self, model_id: str | None = None) -> int:
        with self._lock:
            if model_id is None:
                return self._connection.execute("SELECT count(*) FROM vectors").fetchone()[0]
            return self._connection.execute("SELECT count(*) FROM vectors WHERE model = ?", (model_id,)).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
