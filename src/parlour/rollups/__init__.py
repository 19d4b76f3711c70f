"""Counts for reports, kept as events happen (issue 21): reports read these and a
conversation's recorded moments, never the sealed messages (T-103)."""
