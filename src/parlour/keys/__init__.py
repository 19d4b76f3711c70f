"""API keys, per-tenant token signing keys, JWKS, and the end-user tokens they sign."""
