"""The integration REST API under /v1, for organisations' backends."""
