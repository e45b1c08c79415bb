"""Lets the tests import my_extensions.py from this folder, and gives them a Ray instance."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def ray_running():
    from raymlx.testing.searchers import ensure_local_ray

    ensure_local_ray()
