"""docker-compose.yml, docker-compose.dev.yml and the Dockerfile: valid, and consistent with
the repository.

No Docker engine runs where these tests run, so nothing is built or started: the compose files
are checked against the Compose Specification's JSON Schema (check-jsonschema), and everything
they and the Dockerfile name is checked to exist: build contexts, copied paths, bind mounts, env
files and their variables, `game-server` commands (parsed by the real CLI parser), health
checks, and the nginx configuration they mount (tests/topology/test_nginx_conf.py checks that
file against its template and runs `nginx -t` on it).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DEV = ROOT / "docker-compose.dev.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

#: The services of the whole service (issue 11), and those that run once and exit.
SERVICES = {"secrets", "postgres", "redis", "migrate", "site", "game-1", "game-2", "nginx"}
ONE_SHOT = {"secrets", "migrate"}
#: Services running the app image, and the `game-server` command each runs.
APP_COMMANDS = {"secrets": "secrets", "migrate": "migrate", "site": "site", "game-1": "serve",
                "game-2": "serve"}
#: The secrets a service may be given in .env instead of the generated ones.
SECRET_VARIABLES = {"GAME_TOKEN_KEYS", "GAME_SITE_SECRET", "POSTGRES_PASSWORD"}


def _load(path: Path) -> dict[str, Any]:
    # The safe loader resolves anchors and `<<` merge keys as compose does.
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return _load(DEV)


def _merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file, as far as validation needs: mappings merge key
    by key, sequences of mounts and ports add up, any other value is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if key in base and key in ("volumes", "ports") and isinstance(value, list):
                merged[key] = base[key] + [item for item in value if item not in base[key]]
            else:
                merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


@pytest.fixture(scope="module")
def merged(compose, dev) -> dict[str, Any]:
    return _merge(compose, dev)


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: {"condition": "service_started"} for name in depends}
    return depends


def _healthcheck(service: dict[str, Any]) -> list[str] | None:
    """The health check's test, or None when there is none (or it is disabled)."""
    check = service.get("healthcheck") or {}
    test = check.get("test")
    if check.get("disable") or not test or test == ["NONE"]:
        return None
    return [test] if isinstance(test, str) else list(test)


# --- The Compose Specification ------------------------------------------------------------

def test_compose_files_follow_the_compose_specification(merged, tmp_path):
    """Each file alone (an override is a valid compose file by itself), and the two merged."""
    merged_file = tmp_path / "docker-compose.merged.json"
    merged_file.write_text(json.dumps(merged))
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                             str(COMPOSE), str(DEV), str(merged_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_services_are_the_whole_service_in_production_mode(compose):
    assert set(compose["services"]) == SERVICES
    for name, service in compose["services"].items():
        assert "--dev" not in _command(service), f"{name}: --dev belongs in {DEV.name}"
        if name in APP_COMMANDS:
            assert _command(service)[:2] == ["game-server", APP_COMMANDS[name]], name
    published = {name: service["ports"] for name, service in compose["services"].items()
                 if service.get("ports")}
    assert published == {"nginx": ["8080:8080"]}, "one published port, nginx's"


def test_the_dev_override_only_adds_dev_mode_and_the_source(compose, dev):
    assert set(dev["services"]) <= set(compose["services"])
    for name, service in dev["services"].items():
        assert set(service) <= {"command", "volumes", "environment"}, name
        if name.startswith("game-"):
            assert _command(service) == ["game-server", "serve", "--dev"], name
    assert {name for name in dev["services"] if name.startswith("game-")} == {
        name for name in compose["services"] if name.startswith("game-")}


# --- Paths in the repository --------------------------------------------------------------

@pytest.mark.parametrize("path", [COMPOSE, DEV], ids=lambda path: path.name)
def test_every_build_context_and_dockerfile_exists(path):
    for name, service in _load(path)["services"].items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (ROOT / build.get("context", ".")).resolve()
        assert context.is_dir(), f"{name}: build context {context}"
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


def _bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source = volume.split(":")[0]
            if source.startswith((".", "/", "~")):
                sources.append(source)
        elif volume.get("type") == "bind":
            sources.append(volume["source"])
    return sources


@pytest.mark.parametrize("path", [COMPOSE, DEV], ids=lambda path: path.name)
def test_every_bind_mount_is_a_path_of_the_repository(path):
    mounts = 0
    for name, service in _load(path)["services"].items():
        for source in _bind_sources(service):
            resolved = (ROOT / source).resolve()
            assert resolved.is_relative_to(ROOT), f"{name}: {source} is outside the repository"
            assert resolved.exists(), f"{name}: {source} does not exist"
            mounts += 1
    assert mounts, "no bind mount checked"


def _variables(text: str) -> dict[str, str]:
    """{name: operator} for every ${NAME...} that compose interpolates ($$ is a literal $)."""
    found = {}
    for match in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?", text):
        found[match.group(1)] = match.group(2) or ""
    return found


def _example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            pairs[name.strip()] = value.strip()
    return pairs


def test_the_env_file_has_an_example_with_every_variable(compose):
    env_files = {service["env_file"] if isinstance(service["env_file"], str) else None
                 for service in compose["services"].values() if "env_file" in service}
    assert env_files == {".env"}, "the one env file, whose example is .env.example"
    example = _example()
    for path in (COMPOSE, DEV):
        for name, operator in _variables(path.read_text()).items():
            assert name in example, f"{path.name} uses ${{{name}}}: list it in .env.example"
            # `cp .env.example .env && docker compose up` needs nothing filled in.
            assert operator.endswith("-"), f"{path.name}: ${{{name}}} needs a default"
    # The example ships no secret: one there would be every installation's.
    assert SECRET_VARIABLES <= set(_variables(COMPOSE.read_text()))
    for name in SECRET_VARIABLES:
        assert example[name] == "", f".env.example must leave {name} empty"
    assert "game-server keygen" in ENV_EXAMPLE.read_text()


def _interpolate(text: str, environ: dict[str, str]) -> str:
    """Compose's interpolation of a file (the forms of the Compose Specification: $$, $NAME,
    ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+x},
    ${NAME+x}). Raises LookupError where compose would stop, or warn that a variable is not
    set and default to a blank string."""
    pattern = re.compile(r"\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)"
                         r"(?:(:?[-?+])([^}]*))?\})")

    def replace(match: re.Match) -> str:
        if match.group(1):
            return "$"
        name = match.group(2) or match.group(3)
        operator, word = match.group(4), match.group(5)
        is_set = name in environ
        value = environ.get(name, "")
        empty = operator is not None and operator.startswith(":") and not value
        if operator is None:
            if not is_set:
                raise LookupError(f"${{{name}}} is not set and has no default")
            return value
        if operator.endswith("-"):
            return word if not is_set or empty else value
        if operator.endswith("?"):
            if not is_set or empty:
                raise LookupError(f"${{{name}}}: {word}")
            return value
        return "" if not is_set or empty else word  # + and :+

    return pattern.sub(replace, text)


def _interpolated(value: Any, environ: dict[str, str]) -> Any:
    """The loaded file with every string interpolated, as compose does after parsing."""
    if isinstance(value, dict):
        return {key: _interpolated(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolated(item, environ) for item in value]
    return _interpolate(value, environ) if isinstance(value, str) else value


@pytest.mark.parametrize("path", [COMPOSE, DEV], ids=lambda path: path.name)
def test_compose_needs_nothing_from_the_env_file(path):
    """Interpolated with an empty environment (an .env with nothing set), every variable has
    a value and none stops compose (no `:?` left)."""
    interpolated = _interpolated(_load(path), {})
    assert "${" not in json.dumps(interpolated)
    if path == COMPOSE:
        services = interpolated["services"]
        assert services["site"]["environment"]["GAME_SECURE_COOKIES"] == "off"
        # Nothing set: the secrets service generates every secret.
        assert set(services["secrets"]["environment"].values()) == {""}


def test_interpolation_reads_compose_syntax():
    text = "a: ${X:-d} b: ${Y-e} c: $$Z d: ${X:+p}"
    assert _interpolate(text, {}) == "a: d b: e c: $Z d: "
    assert _interpolate(text, {"X": "1", "Y": ""}) == "a: 1 b:  c: $Z d: p"
    with pytest.raises(LookupError):
        _interpolate("${X:?set X}", {"X": ""})
    with pytest.raises(LookupError):
        _interpolate("${X}", {})


def test_the_env_file_stays_out_of_git_and_of_the_image():
    assert "/.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


# --- Secrets -------------------------------------------------------------------------------

#: The file each *_FILE variable must name, as `game-server secrets init` writes them.
SECRET_FILES = {"GAME_TOKEN_KEYS_FILE": "token-keys", "GAME_SITE_SECRET_FILE": "site-secret",
                "GAME_DATABASE_PASSWORD_FILE": "database-password",
                "POSTGRES_PASSWORD_FILE": "database-password"}


def _named_volumes(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """{target: (volume, read_only)} for each named volume the service mounts."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target, _, mode = rest.partition(":")
            if source and not source.startswith((".", "/", "~")):
                found[target] = (source, "ro" in mode.split(","))
        elif volume.get("type") == "volume":
            found[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
    return found


def test_the_secrets_service_writes_each_secret_once_into_its_volume(compose):
    from game_server import secret_files

    service = compose["services"]["secrets"]
    command = _command(service)
    assert command[:3] == ["game-server", "secrets", "init"] and len(command) == 4, command
    assert _parses(command[1:]) is None
    directory = _cli_parser().parse_args(command[1:]).directory
    assert _named_volumes(service) == {directory: ("secrets", False)}
    assert "secrets" in compose["volumes"]
    assert service.get("restart") == "no" and _healthcheck(service) is None
    # As the image's user (not root): the Dockerfile gives the empty volume that owner.
    final = _final_stage()
    assert service.get("user") in (None, final["USER"])
    assert any(run.startswith("mkdir") and directory in run.split()
               and f"chown {final['USER']}:" in run for run in final["RUN"]), final["RUN"]
    # What .env may set instead: exactly the secrets it writes, and nothing required.
    assert set(_environment(service)) == SECRET_VARIABLES == {
        secret.variable for secret in secret_files.SECRETS}
    for name, value in _environment(service).items():
        assert value == f"${{{name}:-}}", name


def test_every_secret_file_a_service_reads_is_on_the_secrets_volume(compose):
    from game_server import secret_files
    from game_server.config import ENVIRONMENT

    services = compose["services"]
    directory = PurePosixPath(_command(services["secrets"])[3])
    volume = _named_volumes(services["secrets"])[str(directory)][0]
    written = {secret.file for secret in secret_files.SECRETS}
    settings = {name for name, _, _ in ENVIRONMENT}
    readers = set()
    for name, service in services.items():
        if name == "secrets":
            continue
        environment = _environment(service)
        for variable, value in environment.items():
            if not variable.endswith("_FILE"):
                continue
            readers.add(name)
            path = PurePosixPath(value)
            assert path.name in written and path == directory / SECRET_FILES[variable], \
                f"{name}: {variable}={value}"
            assert name == "postgres" or variable in settings, f"{name}: unknown {variable}"
            assert _named_volumes(service).get(str(path.parent)) == (volume, True), \
                f"{name}: mount the {volume} volume read-only at {path.parent}"
            assert _depends_on(service).get("secrets", {}).get("condition") == \
                "service_completed_successfully", f"{name} reads {value} before it is written"
            # A value in .env comes in through env_file too, and both set is an error: the
            # service must not get it (the secrets service wrote it into the file).
            base = variable.removesuffix("_FILE")
            if "env_file" in service and base in SECRET_VARIABLES:
                assert environment.get(base) == "", f"{name}: set {base} to \"\""
    assert readers == {"postgres", "migrate", "site", "game-1", "game-2"}
    # And each app service reads what it needs from there.
    for name in ("site", "game-1", "game-2"):
        assert {"GAME_TOKEN_KEYS_FILE", "GAME_DATABASE_PASSWORD_FILE"} <= set(
            _environment(services[name])), name
    assert "GAME_SITE_SECRET_FILE" in _environment(services["site"])
    assert "PGPASSWORD" not in json.dumps(compose)


# --- Health checks and start order --------------------------------------------------------

def test_each_long_running_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", f"{name} runs once: restart: \"no\""
        else:
            assert _healthcheck(service), f"{name} has no health check"
            assert service.get("restart") == "unless-stopped", name


def test_each_condition_waits_for_something_that_can_meet_it(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, rule in _depends_on(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = rule.get("condition", "service_started")
            if condition == "service_healthy":
                assert _healthcheck(services[target]), f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for {target} to exit"
    after_migrate = {"secrets": "service_completed_successfully",
                     "postgres": "service_healthy", "redis": "service_healthy",
                     "migrate": "service_completed_successfully"}
    for name in ("site", "game-1", "game-2"):
        conditions = {target: rule["condition"]
                      for target, rule in _depends_on(services[name]).items()}
        assert conditions == after_migrate, name
    assert {target: rule["condition"] for target, rule in
            _depends_on(services["nginx"]).items()} == {
        "site": "service_healthy", "game-1": "service_healthy", "game-2": "service_healthy"}


@pytest.mark.parametrize("name, port_variable, path", [
    ("game-1", "GAME_PORT", "/sockjs/info"),
    ("game-2", "GAME_PORT", "/sockjs/info"),
    ("site", "GAME_SITE_PORT", "/"),
])
def test_app_health_checks_ask_the_service_itself(compose, name, port_variable, path):
    """The slim image has no curl: the check is Python's urllib, on the port the service
    listens on."""
    service = compose["services"][name]
    test = _healthcheck(service)
    assert test[:3] == ["CMD", "python", "-c"], test
    code = test[3]
    compile(code, f"{name} health check", "exec")
    url = re.search(r"urlopen\('([^']+)'", code).group(1)
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert str(parts.port) == _environment(service)[port_variable]
    assert parts.path == path


# --- The app's commands, as the real CLI parses them --------------------------------------

def _cli_parser():
    from game_server import cli
    return cli._parser()


def _parses(arguments: list[str]) -> str | None:
    """None if `game-server ARGUMENTS` parses, else argparse's complaint."""
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            _cli_parser().parse_args(arguments)
    except SystemExit:
        return complaint.getvalue().strip() or "refused"
    return None


def _commands(path: Path) -> list[tuple[str, list[str]]]:
    return [(name, _command(service)) for name, service in _load(path)["services"].items()
            if _command(service)[:1] == ["game-server"]]


@pytest.mark.parametrize("where, command", [
    *(pytest.param(f"{path.name}: {name}", command, id=f"{path.name}:{name}")
      for path in (COMPOSE, DEV) for name, command in _commands(path)),
    pytest.param("Dockerfile CMD", None, id="Dockerfile:CMD"),
])
def test_each_game_server_command_exists(where, command):
    if command is None:
        command = _final_stage()["CMD"]
    assert command[0] == "game-server"
    problem = _parses(command[1:])
    assert problem is None, f"{where}: `{' '.join(command)}` is not a game-server command: " \
                            f"{problem}"


# --- The Dockerfile -----------------------------------------------------------------------

def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, arguments = text.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _stages() -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = []
    for keyword, arguments in _instructions():
        if keyword == "FROM":
            words = arguments.split()
            stages.append({"FROM": words[0], "name": words[2] if len(words) > 2 else None,
                           "WORKDIR": "/", "RUN": [], "COPY": [], "USER": None, "EXPOSE": [],
                           "HEALTHCHECK": None, "CMD": None})
            continue
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage["WORKDIR"] = str(PurePosixPath(stage["WORKDIR"]) / arguments)
        elif keyword == "RUN":
            stage["RUN"].append(arguments)
        elif keyword == "COPY":
            words = arguments.split()
            options = [word for word in words if word.startswith("--")]
            paths = [word for word in words if not word.startswith("--")]
            source_stage = next((option.partition("=")[2] for option in options
                                 if option.startswith("--from=")), None)
            destination = PurePosixPath(stage["WORKDIR"]) / paths[-1]
            stage["COPY"].append({"from": source_stage, "sources": paths[:-1],
                                  "destination": destination, "workdir": stage["WORKDIR"]})
        elif keyword == "USER":
            stage["USER"] = arguments
        elif keyword == "EXPOSE":
            stage["EXPOSE"] += arguments.split()
        elif keyword == "HEALTHCHECK":
            stage["HEALTHCHECK"] = arguments
        elif keyword == "CMD":
            stage["CMD"] = json.loads(arguments)
    return stages


def _final_stage() -> dict[str, Any]:
    return _stages()[-1]


def _dockerignored(relative: str) -> bool:
    """Whether .dockerignore keeps `relative` out of the build context (the patterns used
    here: plain names and **/name)."""
    parts = PurePosixPath(relative).parts
    for pattern in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        if pattern.startswith("**/"):
            if pattern[3:] in parts:
                return True
        elif PurePosixPath(relative).match(pattern) or parts[0] == pattern:
            return True
    return False


def test_the_image_is_built_in_two_stages():
    build, final = _stages()
    assert build["FROM"] == "node:20-slim" and build["name"]
    assert any(run.startswith("npm ci") for run in build["RUN"])
    assert final["FROM"] == "python:3.11-slim"


def test_everything_the_dockerfile_copies_exists():
    stages = _stages()
    names = {stage["name"] for stage in stages if stage["name"]}
    for number, stage in enumerate(stages):
        for copy in stage["COPY"]:
            if copy["from"] is None:
                for source in copy["sources"]:
                    assert (ROOT / source).exists(), source
                    assert not _dockerignored(source), f"{source} is in .dockerignore"
                continue
            # From an earlier stage: what its `npm ci` installs, per web_client's lock file.
            assert copy["from"] in names, copy
            earlier = next(s for s in stages[:number] if s["name"] == copy["from"])
            lock = json.loads((ROOT / "web_client" / "package-lock.json").read_text())
            for source in copy["sources"]:
                relative = PurePosixPath(source).relative_to(earlier["WORKDIR"])
                package = PurePosixPath(*relative.parts[:2])
                assert str(package) in lock["packages"], f"npm ci does not install {package}"
                local = ROOT / "web_client" / relative
                if (ROOT / "web_client" / package).is_dir():  # after make's npm ci
                    assert local.is_file(), f"{package} has no {relative}"


def test_the_final_image_has_no_node_and_only_the_one_vendored_file():
    from game_server.transport import app

    final = _final_stage()
    assert not any(re.search(r"\b(nodejs|npm|npx|node)\b", run) for run in final["RUN"])
    from_stages = [copy for copy in final["COPY"] if copy["from"] is not None]
    assert len(from_stages) == 1 and len(from_stages[0]["sources"]) == 1, from_stages
    copy = from_stages[0]
    # The file /vendor/sockjs.min.js maps to, where app.py looks for it under /app.
    vendored = PurePosixPath(app.SOCKJS_CLIENT.relative_to(ROOT), PurePosixPath(
        app.SOCKJS_URL).name)
    assert PurePosixPath(copy["sources"][0]).name == PurePosixPath(app.SOCKJS_URL).name
    assert copy["destination"] == PurePosixPath(final["WORKDIR"]) / vendored
    # And .dockerignore keeps a local node_modules out of `COPY web_client`.
    assert _dockerignored("web_client/node_modules/sockjs-client/dist/sockjs.js")


def test_the_final_image_has_the_tree_the_server_reads_beside_its_package():
    """The server finds schema/, migrations/ and web_client/ relative to game_server/ (it is
    installed in place, -e): each must be copied to the same place under WORKDIR."""
    from game_server.protocol import schema
    from game_server.storage import migrate
    from game_server.transport import app

    final = _final_stage()
    copied = {copy["destination"] for copy in final["COPY"] if copy["from"] is None}
    workdir = PurePosixPath(final["WORKDIR"])
    for folder in (ROOT / "game_server", schema.SCHEMA_DIR, migrate.MIGRATIONS_DIR,
                   app.WEB_CLIENT):
        assert workdir / folder.relative_to(ROOT) in copied, folder
    assert any("pip install -e ." in run for run in final["RUN"])


def test_the_image_runs_as_a_user_of_its_own():
    final = _final_stage()
    assert final["USER"] not in (None, "", "root", "0") and not final["USER"].startswith("0:")
    user = final["USER"].partition(":")[0]
    assert any(run.startswith("useradd") and run.split()[-1] == user for run in final["RUN"])


def test_the_image_exposes_both_ports_and_checks_its_health():
    final = _final_stage()
    assert set(final["EXPOSE"]) == {"8080", "8000"}
    options, _, command = final["HEALTHCHECK"].partition(" CMD ")
    test = json.loads(command)  # exec form: no shell in between
    assert test[:2] == ["python", "-c"], "python:3.11-slim has no curl"
    compile(test[2], "HEALTHCHECK", "exec")
    assert "/sockjs/info" in test[2] and "GAME_PORT" in test[2]


# --- nginx ---------------------------------------------------------------------------------

def _rendered_arguments(text: str) -> dict[str, Any]:
    """The arguments at the top of a rendered configuration (render_nginx.py writes them)."""
    found: dict[str, Any] = {"servers": []}
    for line in text.splitlines():
        match = re.match(r"#   --([a-z-]+) (\S+)$", line)
        if match:
            option, value = match.groups()
            if option == "server":
                found["servers"].append(tuple(value.split("=", 1)))
            else:
                found[option] = value
        elif not line.startswith("#"):
            break
    return found


def test_nginx_serves_the_configuration_rendered_for_these_services(compose):
    services = compose["services"]
    nginx = services["nginx"]
    mounts = [volume.split(":") for volume in nginx["volumes"]]
    assert [source for source, *_ in mounts] == ["./deploy/nginx.compose.conf"]
    target = mounts[0][1]
    command = _command(nginx)
    assert command[command.index("-c") + 1] == target
    assert "daemon off;" in command

    arguments = _rendered_arguments((ROOT / "deploy" / "nginx.compose.conf").read_text())
    games = sorted(name for name in services if name.startswith("game-"))
    expected = []
    for name in games:
        environment = _environment(services[name])
        assert environment["GAME_SERVER_ID"] == name
        assert environment["GAME_PUBLIC_URL"] == f"/g/{name}/sockjs"
        expected.append((name, f"{name}:{environment['GAME_PORT']}"))
    assert arguments["servers"] == expected
    assert arguments["site"] == f"site:{_environment(services['site'])['GAME_SITE_PORT']}"
    assert arguments["listen"] == nginx["ports"][0].rpartition(":")[2]
    # Logs to the container's output (docker compose logs nginx).
    assert arguments["error-log"] == "stderr" and arguments["access-log"] == "/dev/stdout"


def test_the_site_and_the_client_find_each_other_through_nginx(compose):
    services = compose["services"]
    site = _environment(services["site"])
    assert site["GAME_CLIENT_URL"] == "/play/"  # nginx's location of the web client
    for name in ("game-1", "game-2"):
        assert _environment(services[name])["GAME_SITE_URL"] == "/"
    text = (ROOT / "deploy" / "nginx.compose.conf").read_text()
    assert "location /play/ {" in text and "location = /play {" in text
