"""`python -m game_server` is the `game-server` command."""

import sys

from game_server.cli import main

sys.exit(main())
