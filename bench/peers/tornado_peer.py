"""Reference peer for the load tool: bare sockjs-tornado doing the same fan-out as the game.

Trivial protocol, one JSON object per SockJS message (the same as node_peer.js):
  {"join": ROOM}                      -> the connection becomes a member of ROOM; reply joined
  {"move": ROOM, "seq": N, "seat": S} -> every member of ROOM gets the same ~330-byte "state"
    through sockjs-tornado's `broadcast` (the frame is encoded once for all members).

Usage: python bench/peers/tornado_peer.py PORT   (prints "listening" once ready). Stock
Tornado on its default asyncio loop, stdlib json: the stack the game server builds on.
"""

import asyncio
import json
import sys

import tornado.web
from sockjs.tornado import SockJSConnection, SockJSRouter

PAD = "x" * 270
rooms: dict[str, set] = {}


class Fanout(SockJSConnection):
    room: str | None = None

    def on_message(self, text: str) -> None:
        message = json.loads(text)
        if "join" in message:
            self.room = str(message["join"])
            rooms.setdefault(self.room, set()).add(self)
            self.send(json.dumps({"msg": "joined", "room": self.room}))
        elif "move" in message:
            members = rooms.get(str(message["move"]))
            if members:
                self.broadcast(members, json.dumps(
                    {"msg": "state", "room": message["move"], "seq": message["seq"],
                     "seat": message["seat"], "pad": PAD}))

    def on_close(self) -> None:
        members = rooms.get(self.room) if self.room else None
        if members is not None:
            members.discard(self)
            if not members:
                rooms.pop(self.room, None)


async def main(port: int) -> None:
    router = SockJSRouter(Fanout, "/sockjs")
    tornado.web.Application(router.urls).listen(port, address="127.0.0.1")
    print(f"listening on {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8092))
