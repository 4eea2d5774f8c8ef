"""Reproducers of issue #15 (hardening) as tests: generated inputs, every flowsight process run
under resource limits (see `harness`)."""
