# The game server with its web client. Used by docker-compose.yml.
FROM python:3.11-slim

# Node and npm only install the web client's sockjs-client copy at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY game_server ./game_server
COPY migrations ./migrations
COPY schema ./schema
COPY web_client/package.json web_client/package-lock.json ./web_client/
RUN pip install --no-cache-dir -e . \
    && cd web_client && npm ci --no-audit --no-fund
COPY web_client ./web_client

ENV GAME_PORT=8080
EXPOSE 8080
# Migrations first, then serve; compose passes --dev for local play.
CMD ["sh", "-c", "game-server migrate && exec game-server serve"]
