"""Subcommands of ``hpe``: one module each, each with ``register(subparsers)``."""
