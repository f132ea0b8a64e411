"""Tandems and groups: who works together, and in which state."""
