"""Errors of the search package, part of flowsight's hierarchy (`flowsight.errors`)."""

from flowsight.errors import FlowsightError


class EmbeddingError(FlowsightError):
    """An embedder failed: the endpoint refused or timed out after the client's retries, or
    answered something that is not one vector per input. The message names the host, never a key."""


class EmbedderUnavailable(EmbeddingError):
    """The configured embedder cannot run here (its optional packages or weights are missing)."""
