"""Render deploy/nginx.conf.template for a list of game servers, and the main site if any.

    python3 deploy/render_nginx.py --listen 8080 --server game-1=127.0.0.1:8081 \
        --server game-2=127.0.0.1:8082 [--site 127.0.0.1:8000] > nginx.conf

The template's syntax is described at its top: lines starting with ``##`` are dropped,
``{{listen}}``, ``{{error_log}}`` and ``{{access_log}}`` are filled in, the lines between
``{{#servers}}`` and ``{{/servers}}`` are repeated per server with ``{{id}}`` and
``{{address}}`` filled in, and the lines between ``{{#site}}`` and ``{{/site}}`` are kept only
with a site (``{{site}}``: its address), those between ``{{^site}}`` and ``{{/site}}`` only
without one.
Standard library only, so it runs with any Python 3 (no virtualenv needed); tests import
:func:`render`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TEMPLATE", "render", "render_file"]

TEMPLATE = Path(__file__).with_name("nginx.conf.template")

# A server id becomes part of an upstream name and of a URL path: keep it to these.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# host:port, host a name or an IPv4 address, or [IPv6]:port; or unix:/path.
_ADDRESS = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}|unix:/\S+")
_LISTEN = re.compile(r"(?:(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):)?[0-9]{1,5}")
# A log destination: a path (relative to nginx's -p prefix, or absolute such as /dev/stdout),
# or nginx's own "stderr"; nothing that could end the directive.
_LOG = re.compile(r"[A-Za-z0-9_./-]{1,200}")
_BLOCK = re.compile(r"^[ \t]*\{\{#servers\}\}[ \t]*\n(.*?)^[ \t]*\{\{/servers\}\}[ \t]*\n",
                    re.MULTILINE | re.DOTALL)
# {{#site}} ... {{/site}} (kept with a site) or {{^site}} ... {{/site}} (kept without one).
_SITE_BLOCK = re.compile(r"^[ \t]*\{\{([#^])site\}\}[ \t]*\n(.*?)^[ \t]*\{\{/site\}\}[ \t]*\n",
                         re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


def render(template: str, listen: str | int, servers: Sequence[tuple[str, str]], *,
           site: str | None = None, error_log: str = "error.log",
           access_log: str = "access.log") -> str:
    """The nginx configuration for `servers`, a list of (server id, "host:port").

    With `site` ("host:port" of `game-server site`), the main site answers at / and the web
    client moves to /play/; without it, the web client is at /. `error_log` and `access_log`
    are where nginx logs (relative to its -p prefix, an absolute path, or "stderr" for the
    error log).

    Raises:
        ValueError: no server, a duplicate or malformed id or address, a malformed site
            address or log destination, or a placeholder the template does not define.
    """
    listen = str(listen)
    if not _LISTEN.fullmatch(listen):
        raise ValueError(f"listen must be a port or host:port, not {listen!r}")
    if not servers:
        raise ValueError("at least one game server is needed")
    ids = [server_id for server_id, _ in servers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"server ids must be unique: {ids}")
    for server_id, address in servers:
        if not _ID.fullmatch(server_id):
            raise ValueError(f"server id {server_id!r}: use 1 to 64 of A-Z a-z 0-9 _ -")
        if not _ADDRESS.fullmatch(address):
            raise ValueError(f"server {server_id}: address must be host:port, not {address!r}")
    if site is not None and not _ADDRESS.fullmatch(site):
        raise ValueError(f"site address must be host:port, not {site!r}")
    for name, value in (("error_log", error_log), ("access_log", access_log)):
        if not _LOG.fullmatch(value):
            raise ValueError(f"{name} must be a path or stderr, not {value!r}")

    def repeat(block: re.Match[str]) -> str:
        body = block.group(1)
        return "".join(body.replace("{{id}}", server_id).replace("{{address}}", address)
                       for server_id, address in servers)

    def keep(block: re.Match[str]) -> str:
        wanted = block.group(1) == "#"
        return block.group(2) if wanted == (site is not None) else ""

    kept = "".join(line for line in template.splitlines(keepends=True)
                   if not line.lstrip().startswith("##"))
    text = _BLOCK.sub(repeat, _SITE_BLOCK.sub(keep, kept))
    text = (text.replace("{{listen}}", listen).replace("{{error_log}}", error_log)
            .replace("{{access_log}}", access_log))
    if site is not None:
        text = text.replace("{{site}}", site)
    for number, line in enumerate(text.splitlines(), 1):
        if _PLACEHOLDER.search(line):
            raise ValueError(f"line {number}: unknown placeholder in {line.strip()!r}")
    header = ["# Rendered from deploy/nginx.conf.template by deploy/render_nginx.py: edit the",
              "# template and render it again rather than editing this file.",
              f"#   --listen {listen}"]
    header += [f"#   --server {server_id}={address}" for server_id, address in servers]
    if site is not None:
        header.append(f"#   --site {site}")
    if error_log != "error.log":
        header.append(f"#   --error-log {error_log}")
    if access_log != "access.log":
        header.append(f"#   --access-log {access_log}")
    return "\n".join(header) + "\n\n" + text.lstrip("\n")


def render_file(listen: str | int, servers: Sequence[tuple[str, str]],
                template: Path = TEMPLATE, *, site: str | None = None,
                error_log: str = "error.log", access_log: str = "access.log") -> str:
    """:func:`render` with the template file next to this script."""
    return render(template.read_text(), listen, servers, site=site, error_log=error_log,
                  access_log=access_log)


def _server(text: str) -> tuple[str, str]:
    server_id, sep, address = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected ID=HOST:PORT, not {text!r}")
    return server_id, address


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="8080", help="port or host:port (default 8080)")
    parser.add_argument("--server", dest="servers", action="append", type=_server,
                        required=True, metavar="ID=HOST:PORT",
                        help="a game server: its GAME_SERVER_ID and address (repeat)")
    parser.add_argument("--site", metavar="HOST:PORT",
                        help="the main site (game-server site): it answers at / and the web "
                             "client moves to /play/ (default: no site, the client at /)")
    parser.add_argument("--error-log", default="error.log",
                        help="nginx's error log: a path (relative to nginx's -p prefix) or "
                             "stderr (default error.log)")
    parser.add_argument("--access-log", default="access.log",
                        help="nginx's access log: a path (relative to nginx's -p prefix), "
                             "e.g. /dev/stdout in a container (default access.log)")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render_file(args.listen, args.servers, args.template, site=args.site,
                                     error_log=args.error_log, access_log=args.access_log))
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
