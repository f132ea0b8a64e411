"""Putting a service's refusal where the member sees it: next to its field, else atop the form."""

from __future__ import annotations

from peerhub.errors import DomainError


def attach_error(form, error: DomainError, renamed: dict[str, str] | None = None) -> None:
    """Attach `error` to its field (`renamed` maps service field names to the form's)."""
    name = (renamed or {}).get(error.field, error.field) if error.field else None
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
