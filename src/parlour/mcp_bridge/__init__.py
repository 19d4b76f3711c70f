"""Organisations' MCP servers as tool sources for the assistant (TB-03)."""
