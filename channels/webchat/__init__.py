"""The web chat: our own channel, a widget on a website talking to the hub over a WebSocket."""

NAME = "chat"
"""The channel's name on tickets, messages and in the rules (`channel: chat`)."""
