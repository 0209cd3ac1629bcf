"""Fixtures and helpers for the tables tests. Helper modules (table_helpers.py, engine_helpers.py)
live next to this file; with --import-mode=importlib its folder must be on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
