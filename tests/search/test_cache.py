"""The embedding cache: keys, persistence, corrupt files, several processes at once."""

from __future__ import annotations

import multiprocessing
import sqlite3

import numpy as np

from flowsight.search.cache import FILE_NAME, EmbeddingCache, default_cache_dir


def vector(seed: int, dimensions: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).random(dimensions, dtype=np.float32)


def test_keyed_by_model_dimensions_and_hash(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("model-a", 4, {"h1": vector(1), "h2": vector(2)})
        cache.put_many("model-b", 4, {"h1": vector(3)})
        cache.put_many("model-a", 2, {"h1": vector(4, 2)})
        found = cache.get_many("model-a", 4, ["h1", "h2", "h3"])
        assert sorted(found) == ["h1", "h2"]
        np.testing.assert_array_equal(found["h1"], vector(1))
        np.testing.assert_array_equal(cache.get_many("model-b", 4, ["h1"])["h1"], vector(3))
        np.testing.assert_array_equal(cache.get_many("model-a", 2, ["h1"])["h1"], vector(4, 2))
        assert cache.count() == 4 and cache.count("model-a") == 3


def test_persists_across_instances_and_many_keys(tmp_path):
    vectors = {f"hash-{index}": vector(index) for index in range(1200)}  # more than one SELECT batch
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("m", 4, vectors)
    with EmbeddingCache(tmp_path) as cache:
        found = cache.get_many("m", 4, list(vectors) + ["absent"])
    assert len(found) == 1200
    np.testing.assert_array_equal(found["hash-1199"], vectors["hash-1199"])


def test_a_corrupt_file_is_moved_aside(tmp_path):
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with EmbeddingCache(tmp_path) as cache:
        assert cache.get_many("m", 4, ["h"]) == {}
        cache.put_many("m", 4, {"h": vector(0)})
        assert "h" in cache.get_many("m", 4, ["h"])
    assert [path.name.split(".corrupt-")[0] for path in tmp_path.glob("*.corrupt-*")] == [FILE_NAME]


def test_a_row_of_the_wrong_size_is_a_miss(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("m", 4, {"good": vector(0)})
    with sqlite3.connect(tmp_path / FILE_NAME) as connection:
        connection.execute("INSERT INTO vectors VALUES ('m', 4, 'torn', x'0000')")
    with EmbeddingCache(tmp_path) as cache:
        assert sorted(cache.get_many("m", 4, ["good", "torn"])) == ["good"]


def test_an_old_schema_is_not_trusted(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("m", 4, {"h": vector(0)})
    with sqlite3.connect(tmp_path / FILE_NAME) as connection:
        connection.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    with EmbeddingCache(tmp_path) as cache:
        assert cache.get_many("m", 4, ["h"]) == {}


def write_many(directory: str, worker: int) -> None:
    cache = EmbeddingCache(directory)
    for batch in range(20):
        cache.put_many("m", 4, {f"{worker}-{batch}-{index}": vector(index) for index in range(10)})
    cache.close()


def test_several_processes_write_at_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=write_many, args=(str(tmp_path), worker)) for worker in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    with EmbeddingCache(tmp_path) as cache:
        assert cache.count("m") == 3 * 20 * 10


def test_in_memory_and_default_location(monkeypatch, tmp_path):
    with EmbeddingCache.in_memory() as cache:
        cache.put_many("m", 4, {"h": vector(0)})
        assert cache.path is None and "h" in cache.get_many("m", 4, ["h"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "flowsight" / "embeddings"
