"""One suite, every backend: these tests run on SQLite and on PostgreSQL."""
