"""Profiles, tags, availability, the member directory and blocking."""
