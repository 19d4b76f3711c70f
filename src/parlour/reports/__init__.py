"""An organisation's reports (issue 21): conversations, the people who handled them and the
assistant, over a period of its local days, read from counts kept as events happen and from
conversations' recorded moments, never from the sealed messages (T-103)."""
