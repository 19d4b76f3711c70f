"""Webhooks: an organisation's endpoints hear of its conversations' messages and hand-offs,
signed the Standard Webhooks way, from an outbox written with each message (T-84 to T-87)."""
