"""Cross-cutting web glue: htmx, security headers, error pages, formatting."""
