"""Typed surface of the native core (native/python). Keep in sync: tests/test_native_stub.py checks it."""

__version__: str
