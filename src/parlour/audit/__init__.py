"""The audit log: one typed event per sensitive action, written in the same transaction as the
action, hash-chained per tenant (and one chain for the platform), with signed checkpoints."""
