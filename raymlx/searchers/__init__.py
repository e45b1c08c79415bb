"""Tune searchers of raymlx; each works inside a plain ``tune.Tuner``."""

from raymlx.searchers.random_search import RandomSearch

__all__ = ["RandomSearch"]
