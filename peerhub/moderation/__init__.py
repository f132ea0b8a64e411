"""Moderation: reports and cases, moderator actions and appeals, the audit log, member
administration, community figures, and the shared tag vocabulary."""
