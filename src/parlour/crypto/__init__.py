"""Keys that protect other keys: the master key, and authenticated encryption bound to where a
value lives (tenant, table, row, field) so a ciphertext moved elsewhere fails to open."""
