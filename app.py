"""What `flask --app app` and gunicorn (`gunicorn app:app`) load."""

from peerhub import create_app

app = create_app()
