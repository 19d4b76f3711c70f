"""The chat gateway: the WebSocket endpoint that widgets connect to (docs/protocol.md)."""
