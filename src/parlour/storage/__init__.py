"""The database: engine, transactions, table definitions and migrations. No business rules."""
