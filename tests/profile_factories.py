"""One-line profiles for tests (CTFd's gen_* style), through the real service."""

from __future__ import annotations

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.profiles import service


def fill_profile(
    app,
    persona,
    headline: str = "Product owner who loves clear priorities",
    offers: tuple[str, ...] = ("Agiles Projektmanagement",),
    seeks: tuple[str, ...] = ("Zeitmanagement",),
    interests: tuple[str, ...] = (),
    goals: tuple[str, ...] = ("Lead meetings that end on time",),
    about: str = "",
    languages: tuple[str, ...] = ("de", "en"),
    meeting_mode: str = "video",
    city: str | None = None,
    windows: tuple[tuple[int, int, int], ...] = ((1, 18 * 60, 20 * 60),),
    status: str = "open",
    visibility: str = "members",
    rhythm: str = "weekly",
    session_length: int = 60,
    capacity: int = 2,
) -> None:
    with app.app_context():
        user = db.session.get(User, persona.id)
        service.save_headline(user, headline)
        for kind, names in (("offer", offers), ("seek", seeks), ("interest", interests)):
            for name in names:
                service.add_tag(user, kind, name)
        service.save_goals(user, list(goals), about)
        service.save_practicalities(
            user,
            service.Practicalities(
                context="professional",
                languages=languages,
                meeting_mode=meeting_mode,
                city=city,
                rhythm=rhythm,
                session_length=session_length,
                capacity=capacity,
                status=status,
                visibility=visibility,
                windows=windows,
            ),
        )
        service.finish_onboarding(user)
        db.session.remove()
