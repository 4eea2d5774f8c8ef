"""The offline embedder: the numpy forward pass against sentence-transformers' own vectors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from flowsight.search.minilm import MODEL_ID, bundled_model_dir, gelu, length_batches
from flowsight.search.safetensors import load_safetensors

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())


def test_matches_sentence_transformers(minilm):
    vectors = minilm.embed(REFERENCE["texts"])
    reference = np.array(REFERENCE["vectors"], dtype=np.float32)
    assert vectors.shape == (len(REFERENCE["texts"]), 384)
    np.testing.assert_allclose(vectors, reference, atol=5e-6)
    np.testing.assert_allclose(np.sum(vectors * reference, axis=1), 1.0, atol=1e-5)


def test_one_at_a_time_equals_batched(minilm):
    texts = REFERENCE["texts"]
    alone = np.stack([minilm.embed([text])[0] for text in texts[:4]])
    np.testing.assert_allclose(alone, minilm.embed(texts)[:4], atol=2e-6)


def test_similar_texts_are_closer(minilm):
    query, related, unrelated = minilm.embed(
        [
            "send an email to the user",
            "def send_mail(to, subject, body):\n    smtp.sendmail(FROM, to, message(subject, body))",
            "def mean(xs):\n    return sum(xs) / len(xs)",
        ]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.2


def test_identity_and_edge_cases(minilm):
    assert minilm.model_id == MODEL_ID and minilm.dimensions == 384 and minilm.remote_host is None
    assert minilm.embed([]).shape == (0, 384)
    empty = minilm.embed([""])[0]  # [CLS] [SEP] only: still a unit vector
    assert abs(float(np.linalg.norm(empty)) - 1.0) < 1e-5
    assert minilm.token_count("x " * 1000) == 256  # truncated like sentence-transformers (max_seq_length)


def test_gelu_is_exact():
    values = np.linspace(-6, 6, 1001, dtype=np.float32)
    from math import erf, sqrt

    exact = np.array([0.5 * value * (1 + erf(value / sqrt(2))) for value in values.astype(np.float64)])
    np.testing.assert_allclose(gelu(values), exact, atol=1e-6)


def test_length_batches_group_similar_lengths_within_budget():
    lengths = [5, 200, 6, 7, 250, 8]
    batches = length_batches(lengths, max_items=3, max_tokens=399)
    assert batches == [[0, 2, 3], [5], [1], [4]]
    assert sorted(index for batch in batches for index in batch) == list(range(6))


def test_weights_come_from_the_installed_wheel():
    directory = bundled_model_dir()
    assert directory is not None and (directory / "model.safetensors").is_file()


def test_safetensors_reader(tmp_path):
    values = np.arange(6, dtype="<f4").reshape(2, 3)
    header = json.dumps({"t": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "__metadata__": {"format": "pt"}}).encode()
    good = tmp_path / "good.safetensors"
    good.write_bytes(struct.pack("<Q", len(header)) + header + values.tobytes())
    np.testing.assert_array_equal(load_safetensors(good)["t"], values)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(struct.pack("<Q", len(header)) + header + values.tobytes()[:20])
    with pytest.raises(ValueError, match="outside the file"):
        load_safetensors(truncated)
    with pytest.raises(ValueError, match="too short"):
        (tmp_path / "empty").write_bytes(b"")
        load_safetensors(tmp_path / "empty")


def test_blas_runs_one_thread(minilm):
    from threadpoolctl import threadpool_info

    assert minilm.threads == 1
    assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
