import pytest

from flowsight.errors import ConfigError
from flowsight.search.settings import SearchSettings


def test_defaults():
    settings = SearchSettings()
    assert (settings.embedder, settings.max_batch_inputs, settings.max_batch_tokens) == ("auto", 2048, 300_000)
    # The fusion weights measured in bench/search_quality.py, per query shape.
    assert (settings.lexical_weight, settings.identifier_lexical_weight) == (0.2, 1.0)
    assert settings.qdrant_url is None and settings.api_key_env == "OPENAI_API_KEY"
    assert settings.server_fusion == "weighted"  # with a Qdrant server only


def test_from_mapping():
    settings = SearchSettings.from_mapping({"embedder": "openai", "base_url": "http://localhost:8080/v1", "dimensions": 256, "timeout": 5})
    assert settings.embedder == "openai" and settings.dimensions == 256 and settings.timeout == 5.0


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"api_key": "sk-..."}, "pyproject.toml: unknown key `api_key`"),
        ({"dimensions": "512"}, "`dimensions` must be int, not str"),
        ({"concurrency": True}, "`concurrency` must be int, not bool"),
        ({"embedder": "torch"}, "embedder must be one of auto, builtin, openai, none, not 'torch'"),
        ({"lexical_weight": 1.5}, "lexical_weight must lie in [0, 1]"),
        ({"identifier_lexical_weight": -0.1}, "identifier_lexical_weight must lie in [0, 1]"),
        ({"max_batch_inputs": 0}, "max_batch_inputs must be at least 1"),
        ({"server_fusion": "max"}, "server_fusion must be one of weighted, dbsf, rrf, client, not 'max'"),
    ],
)
def test_invalid_settings_name_the_source(mapping, message):
    with pytest.raises(ConfigError) as error:
        SearchSettings.from_mapping(mapping, source="pyproject.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("pyproject.toml: ")
