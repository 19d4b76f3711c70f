"""One assistant turn: find what the organisation's knowledge says, answer with citations, or say
it does not know and offer a person."""
