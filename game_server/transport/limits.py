"""What one connection may make the server read, handle and hold (docs/security.md).

A client message is at most 4 KiB (the protocol's `too_large`), and sockjs-client puts the
messages queued while a send is in flight into one frame, so a few dozen messages per frame
is all an honest client needs. Anything larger is refused before it is read, so no client can
make the server buffer or handle more than this for it:

- `MAX_BODY_BYTES`: an HTTP request body (xhr_send, jsonp_send, and the empty bodies of the
  xhr and xhr_streaming polls) and a WebSocket message. A larger body is answered 413 and its
  connection closed as soon as its `Content-Length` (or its first chunks) says so; a larger
  WebSocket message closes the WebSocket with 1009.
- `MAX_MESSAGES_PER_FRAME`: messages handled from one SockJS frame; the rest are dropped and
  answered with one `rate_limited` error. The lean WebSocket reader also handles at most one
  WebSocket message per event-loop iteration for one connection, so a read holding a thousand
  small frames cannot keep the loop from other connections.
- `MAX_OUTPUT_BYTES` (router setting `max_output_bytes`): output waiting for a client, in the
  SockJS session's queue and the socket's write buffer together. A connection past it is
  closed with `CLOSE_OUTPUT_FULL`; its seat is kept for the grace period as on any
  disconnect.
"""

from __future__ import annotations

MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGES_PER_FRAME = 50
MAX_OUTPUT_BYTES = 1024 * 1024

#: SockJS close code and reason of a connection whose unsent output passed the cap (the
#: protocol's codes 4001-4003 are in protocol/peer.py; docs/protocol.md lists them all).
CLOSE_OUTPUT_FULL = (4004, "Too much unsent output")
