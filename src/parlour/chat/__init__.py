"""Conversations and their messages, sequence numbers, delivery and handoff: a Sans-I/O core that
the WebSocket gateway drives, with no sockets of its own."""
