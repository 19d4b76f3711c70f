"""Search across an organisation's conversations (docs/search.md): a keyed blind index of the
words of its messages, written off the chat's hot path, and the searches over it."""
