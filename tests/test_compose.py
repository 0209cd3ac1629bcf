"""docker-compose.yml and the Dockerfile: valid, and consistent with the repository.

No Docker engine runs where these tests run, so the compose file is checked against the
Compose Specification's JSON Schema (check-jsonschema) and the Dockerfile's inputs are checked
to exist; `docker compose up` itself is not run here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_follows_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                             str(ROOT / "docker-compose.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_migrations_and_the_server_on_postgresql():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "GAME_DATABASE_URL: postgresql://game:game@db:5432/game" in text
    assert "game-server migrate && exec game-server serve --dev" in text
    assert '"8080:8080"' in text
    assert "condition: service_healthy" in text


def test_everything_the_dockerfile_copies_exists():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        match = re.match(r"COPY (.+) \S+$", line)
        if match:
            for source in match.group(1).split():
                assert (ROOT / source).exists(), source
