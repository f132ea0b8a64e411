"""Private learning-journal entries."""
