# The card-table image: `game-server serve` (a game server, port 8080), `game-server site`
# (the main site, port 8000) and `game-server migrate`, as docker-compose.yml runs them.
#
# Two stages: Node installs the web client's one npm dependency, and the final image takes
# only the file the game server serves from it (/vendor/sockjs.min.js); it has no Node.

# --- web client: npm ci, for sockjs-client's minified build -------------------------------
FROM node:20-slim AS web-client
WORKDIR /web_client
COPY web_client/package.json web_client/package-lock.json ./
# --omit=dev: axe-core (a devDependency) is for the browser tests only.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

# --- the server ----------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The processes run as this user; the code under /app stays root's, read-only to them.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin game
# Where docker-compose.yml mounts its `secrets` volume: a new, empty named volume takes this
# directory's owner and mode, so the one-shot `secrets` service (this user) can write into it
# and nobody else but root can read it.
RUN mkdir -m 0700 /run/card-table && chown game:game /run/card-table

# The server finds schema/, migrations/ and web_client/ beside its package (paths relative to
# game_server/), so it is installed in place (-e) in /app, as in a checkout.
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY game_server ./game_server
RUN pip install -e .
COPY migrations ./migrations
COPY schema ./schema
# .dockerignore keeps any local node_modules out: the one file the server needs from it comes
# from the build stage, at the path game_server/transport/app.py serves /vendor/ from.
COPY web_client ./web_client
COPY --from=web-client /web_client/node_modules/sockjs-client/dist/sockjs.min.js ./web_client/node_modules/sockjs-client/dist/sockjs.min.js

USER game
ENV GAME_PORT=8080 \
    GAME_SITE_PORT=8000
EXPOSE 8080 8000

# The game server's health (the default command); docker-compose.yml sets its own per service.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/sockjs/info' % os.environ.get('GAME_PORT', '8080'), timeout=4)"]

# Production: GAME_TOKEN_KEYS (or GAME_TOKEN_KEYS_FILE) must be set (game-server keygen; or
# `game-server secrets init DIR`); run `game-server migrate` once before (docker-compose.yml
# has a one-shot service for each).
CMD ["game-server", "serve"]
