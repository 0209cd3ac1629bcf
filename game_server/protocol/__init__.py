"""The sans-I/O protocol layer: JSON text in, checks, dispatch, messages out (layer 3)."""

from game_server.protocol.errors import ERROR_CODES, ProtocolError
from game_server.protocol.hub import PROTOCOL_VERSION, Hub, HubSettings, MemoryLog, NoMetrics
from game_server.protocol.peer import MAX_MESSAGE_BYTES, Peer

__all__ = ["ERROR_CODES", "MAX_MESSAGE_BYTES", "PROTOCOL_VERSION", "Hub", "HubSettings",
           "MemoryLog", "NoMetrics", "Peer", "ProtocolError"]
