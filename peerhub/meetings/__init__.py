"""Recurring sessions: the series an active agreement creates, and its occurrences."""
