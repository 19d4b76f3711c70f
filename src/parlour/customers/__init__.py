"""The desk's customer panel: who the customer of a conversation is (as their organisation's
verified token said), their other conversations, and what the assistant did in this one."""
