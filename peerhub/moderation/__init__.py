"""Moderation: the role check for the whole area, and (so far) the shared tag vocabulary."""
