"""Card-table server: real-time multiplayer card games over SockJS."""

__version__ = "0.1.0"
