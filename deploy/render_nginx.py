"""Render deploy/nginx.conf.template for a list of game servers.

    python3 deploy/render_nginx.py --listen 8080 --server game-1=127.0.0.1:8081 \
        --server game-2=127.0.0.1:8082 > nginx.conf

The template's syntax is described at its top: lines starting with ``##`` are dropped,
``{{listen}}`` is filled in, and the lines between ``{{#servers}}`` and ``{{/servers}}`` are
repeated per server with ``{{id}}`` and ``{{address}}`` filled in.
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
_BLOCK = re.compile(r"^[ \t]*\{\{#servers\}\}[ \t]*\n(.*?)^[ \t]*\{\{/servers\}\}[ \t]*\n",
                    re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


def render(template: str, listen: str | int, servers: Sequence[tuple[str, str]]) -> str:
    """The nginx configuration for `servers`, a list of (server id, "host:port").

    Raises:
        ValueError: no server, a duplicate or malformed id or address, or a placeholder the
            template does not define.
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

    def repeat(block: re.Match[str]) -> str:
        body = block.group(1)
        return "".join(body.replace("{{id}}", server_id).replace("{{address}}", address)
                       for server_id, address in servers)

    kept = "".join(line for line in template.splitlines(keepends=True)
                   if not line.lstrip().startswith("##"))
    text = _BLOCK.sub(repeat, kept).replace("{{listen}}", listen)
    for number, line in enumerate(text.splitlines(), 1):
        if _PLACEHOLDER.search(line):
            raise ValueError(f"line {number}: unknown placeholder in {line.strip()!r}")
    header = ["# Rendered from deploy/nginx.conf.template by deploy/render_nginx.py: edit the",
              "# template and render it again rather than editing this file.",
              f"#   --listen {listen}"]
    header += [f"#   --server {server_id}={address}" for server_id, address in servers]
    return "\n".join(header) + "\n\n" + text.lstrip("\n")


def render_file(listen: str | int, servers: Sequence[tuple[str, str]],
                template: Path = TEMPLATE) -> str:
    """:func:`render` with the template file next to this script."""
    return render(template.read_text(), listen, servers)


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
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render_file(args.listen, args.servers, args.template))
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
