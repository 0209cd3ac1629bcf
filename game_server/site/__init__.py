"""The main web site: people sign up and sign in here, and "Play" opens the web client.

A small Tornado application (``game-server site``) sharing the users table with the game
servers: sign-up and sign-in with a name and a password (``passwords.py``, ``auth.py``), limits
on failed sign-ins (``limiter.py``), a signed session cookie, and the pages and endpoints of
``app.py``. It hands the web client game tokens (``game_server.tokens``) and sends invitations
through the notification publisher (``game_server.notify``).
"""

from .app import Publisher, Site, make_app, make_site, serve

__all__ = ["Publisher", "Site", "make_app", "make_site", "serve"]
