"""Accounts: sign-up, e-mail verification, login, password reset, settings."""
