"""The shared vocabulary: spellings meet, autocomplete, limits, rename and merge."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotAllowed
from peerhub.extensions import db
from peerhub.profiles import service
from peerhub.profiles.models import ProfileTag, Tag
from peerhub.profiles.text import tag_key
from tests.conftest import HX_PARTIAL
from tests.profile_factories import fill_profile


def me(persona) -> User:
    return db.session.get(User, persona.id)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Zeitmanagement", "zeit management", True),
        ("Zeitmanagement", "ZEITMANAGEMENT", True),
        ("Zeitmanagement", "Zeit-Management", True),
        ("Zeitmanagement", "Zeitmanagment", False),
        ("Führung", "Fuehrung", True),
        ("Konfliktlösung", "KONFLIKTLOESUNG", True),
        ("Straße", "strasse", True),
        ("Public Speaking", "public-speaking", True),
        ("Python", "Pythons", False),
    ],
)
def test_spellings_meet(a, b, same):
    assert (tag_key(a) == tag_key(b)) is same


def test_one_tag_for_every_spelling(ctx, alice, bob):
    service.add_tag(me(alice), "offer", "Zeitmanagement")
    service.add_tag(me(bob), "seek", "  ZEIT   management ")
    assert db.session.scalar(select(func.count()).select_from(Tag)) == 1
    assert db.session.scalar(select(Tag.name)) == "Zeitmanagement"  # the first spelling stays


def test_adding_twice_is_harmless(ctx, alice):
    service.add_tag(me(alice), "offer", "Python")
    service.add_tag(me(alice), "offer", "python")
    assert db.session.scalar(select(func.count()).select_from(ProfileTag)) == 1


def test_too_many_tags_and_offering_what_you_seek_are_refused(ctx, alice):
    for i in range(10):
        service.add_tag(me(alice), "offer", f"Skill {i}")
    with pytest.raises(Invalid, match="Up to 10"):
        service.add_tag(me(alice), "offer", "One more")
    service.add_tag(me(alice), "seek", "Zeitmanagement")
    with pytest.raises(Invalid, match="offer and seek"):
        service.add_tag(me(alice), "offer", "zeit management")
    with pytest.raises(Invalid):
        service.add_tag(me(alice), "interest", "   ")
    with pytest.raises(Invalid):
        service.add_tag(me(alice), "interest", "x" * 41)


def test_suggestions_show_how_many_members_use_each(app, alice, bob, carol):
    fill_profile(app, alice, offers=("Zeitmanagement",), seeks=("Python",))
    fill_profile(app, bob, offers=("Python",), seeks=("Zeitmanagement",))
    fill_profile(app, carol, offers=("Zeitplanung",), seeks=("Führung",))
    with app.app_context():
        found = [(tag.name, n) for tag, n in service.suggest_tags("zeit")]
        assert found[0] == ("Zeitmanagement", 2) and ("Zeitplanung", 1) in found
        assert service.suggest_tags("%") == [] or all(
            "%" not in t.key for t, _ in service.suggest_tags("%")
        )
        assert service.suggest_tags("") == []


def test_autocomplete_fragment_and_adding_from_it(app, client, alice, bob, auth):
    fill_profile(app, bob, offers=("Zeitmanagement",), seeks=("Python",))
    auth.login(alice)
    response = client.get("/tags/suggest?kind=seek&seek-name=zeitm", headers=HX_PARTIAL)
    assert response.status_code == 200 and "<html" not in response.text
    assert 'name="pick" value="Zeitmanagement"' in response.text and "1 member" in response.text
    added = client.post(
        "/profile/tags/seek",
        data={"seek-name": "zeitm", "pick": "Zeitmanagement"},
        headers=HX_PARTIAL,
    )
    assert added.status_code == 200 and added.text.lstrip().startswith('<section id="tags-seek"')
    assert "Zeitmanagement" in added.text
    removed = client.post(
        f"/profile/tags/seek/{_tag_id(app, 'Zeitmanagement')}/remove", headers=HX_PARTIAL
    )
    assert removed.status_code == 200 and "Nothing here yet" in removed.text


def _tag_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Tag.id).where(Tag.key == tag_key(name)))


def test_tags_without_javascript_post_and_come_back(app, client, alice, auth):
    auth.login(alice)
    response = client.post(
        "/profile/tags/offer?next=/onboarding/strengths", data={"offer-name": "Moderation"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/onboarding/strengths"
    assert "Moderation" in client.get("/onboarding/strengths").text
    bad = client.post("/profile/tags/offer?next=https://evil.example", data={"offer-name": " "})
    assert bad.status_code == 303 and bad.headers["Location"] == "/profile"


def test_bad_tag_with_htmx_is_422_in_the_component(client, alice, auth):
    auth.login(alice)
    response = client.post("/profile/tags/offer", data={"offer-name": "x" * 41}, headers=HX_PARTIAL)
    assert response.status_code == 422 and 'id="tags-offer"' in response.text
    assert client.post("/profile/tags/nonsense", data={}).status_code == 404


def test_moderator_renames_a_tag_for_everyone(app, client, alice, mod, auth):
    fill_profile(app, alice, offers=("Zeitmanagment",), seeks=("Python",))
    auth.login(mod)
    page = client.get("/moderation/tags")
    assert page.status_code == 200 and "Zeitmanagment" in page.text
    tag_id = _tag_id(app, "Zeitmanagment")
    response = client.post(f"/moderation/tags/{tag_id}/rename", data={"name": "Zeitmanagement"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Tag, tag_id).name == "Zeitmanagement"
        assert "zeitmanagement" in service.profile_view(alice.id).search_document.split()


def test_rename_onto_another_tag_asks_for_a_merge(ctx, alice, mod):
    service.add_tag(me(alice), "offer", "Python")
    service.add_tag(me(alice), "interest", "Pyhton")
    typo = db.session.scalar(select(Tag.id).where(Tag.key == "pyhton"))
    with pytest.raises(Conflict):
        service.rename_tag(me(mod), typo, "python")
    with pytest.raises(NotAllowed):
        service.rename_tag(me(alice), typo, "Anything")


def test_merge_moves_every_use(app, client, alice, bob, carol, mod, auth):
    fill_profile(app, alice, offers=("Zeitmanagment",), seeks=("Python",))
    fill_profile(app, bob, offers=("Zeitmanagement",), seeks=("Zeitmanagment",))
    fill_profile(app, carol, offers=("Zeitmanagment", "Zeitmanagement"), seeks=("Führung",))
    source, target = _tag_id(app, "Zeitmanagment"), _tag_id(app, "Zeitmanagement")
    auth.login(mod)
    response = client.post(f"/moderation/tags/{source}/merge", data={"target": "Zeitmanagement"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Tag, source) is None
        uses = db.session.execute(
            select(ProfileTag.user_id, ProfileTag.kind).where(ProfileTag.tag_id == target)
        ).all()
        assert sorted(uses) == sorted(
            [(alice.id, "offer"), (bob.id, "offer"), (bob.id, "seek"), (carol.id, "offer")]
        )
        assert "zeitmanagment" not in service.profile_view(alice.id).search_document.split()


def test_merge_into_unknown_or_itself(app, client, alice, mod, auth):
    fill_profile(app, alice, offers=("Python",))
    tag_id = _tag_id(app, "Python")
    auth.login(mod)
    client.post(f"/moderation/tags/{tag_id}/merge", data={"target": "Nope"})
    client.post(f"/moderation/tags/{tag_id}/merge", data={"target": "python"})
    with app.app_context():
        assert db.session.get(Tag, tag_id) is not None
    assert client.post("/moderation/tags/987654/rename", data={"name": "x"}).status_code == 404
