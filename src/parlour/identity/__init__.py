"""Dashboard accounts: passwords, MFA, sessions, roles."""
