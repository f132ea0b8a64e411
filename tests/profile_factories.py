"""One-line profiles for tests (CTFd's gen_* style), through the real service."""

from __future__ import annotations

from hypothesis import strategies as st

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.profiles import service
from peerhub.profiles.models import Block
from tests.conftest import make_user, reset_database


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


# A random member for property tests over real queries: few tags, languages and cities,
# so pairs that fit and pairs that break a rule both come up often.
random_member = st.fixed_dictionaries(
    {
        "offers": st.lists(
            st.sampled_from(("Scrum", "Rhetorik", "Yoga")), min_size=1, max_size=2, unique=True
        ),
        "seeks": st.lists(
            st.sampled_from(("Kochen", "Rhetorik", "Scrum")), min_size=1, max_size=2, unique=True
        ),
        "languages": st.lists(
            st.sampled_from(("de", "en", "fr")), min_size=1, max_size=2, unique=True
        ),
        "mode": st.sampled_from(
            (("video", None), ("in_person", "Berlin"), ("in_person", "Köln"), ("either", "Berlin"))
        ),
        "status": st.sampled_from(("open", "open", "paused")),
        "zone": st.sampled_from(("Europe/Berlin", "America/New_York", "Asia/Tokyo")),
        "group": st.booleans(),
        "block": st.booleans(),  # blocks the member before
    }
)


def random_community(app, specs) -> list:
    """An empty database, then one member per spec with a profile (and the blocks)."""
    reset_database(app)
    people = []
    for n, spec in enumerate(specs):
        persona = make_user(app, f"m{n}@example.org", f"M{n}", timezone=spec["zone"])
        people.append(persona)
        fill_profile(
            app,
            persona,
            offers=tuple(o for o in spec["offers"] if o not in spec["seeks"]) or ("Malen",),
            seeks=tuple(spec["seeks"]),
            languages=tuple(spec["languages"]),
            meeting_mode=spec["mode"][0],
            city=spec["mode"][1],
            status=spec["status"],
        )
    with app.app_context():
        for n, spec in enumerate(specs):
            if n and spec["block"]:
                db.session.add(Block(blocker_id=people[n].id, blocked_id=people[n - 1].id))
        db.session.commit()
        db.session.remove()
    return people
