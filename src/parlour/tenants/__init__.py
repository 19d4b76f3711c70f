"""Organisations: their public widget id and the web origins allowed to embed their widget."""
