"""The words of tandem mails, as lazy strings the mail template renders in the recipient's
language (`queue_mail` sets it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from peerhub.accounts.models import User

LINK_LABELS = {
    "agreement_changed": _l("Read and sign the agreement"),
    "tandem_active": _l("Open your tandem"),
    "agreement_in_force": _l("Open your tandem"),
    "tandem_invited": _l("Answer the invitation"),
    "tandem_group_formed": _l("Write your agreement"),
    "term_ending": _l("Decide how to go on"),
    "term_continue": _l("Read and sign the new term"),
    "check_in_open": _l("Answer the check-in"),
    "check_in_reminder": _l("Answer the check-in"),
}


def _note_of(tandem, actor: User | None) -> str:
    """The note the acting member left with their step (ending, or the end of the term)."""
    if actor is None:
        return ""
    return next((m.note or "" for m in tandem.members if m.user_id == actor.id), "")


def mail_text(
    kind: str, tandem, member: User, actor: User | None, names: str, invitation=None, note=""
) -> dict:
    """Paragraphs, quote and link label of a tandem mail."""
    name = actor.display_name if actor else ""
    paragraphs: list = []
    quote, quote_label = "", None
    if kind == "agreement_changed":
        paragraphs.append(
            _l(
                "%(name)s changed your agreement. Every change needs everyone's signature "
                "again: please read the new version and sign it.",
                name=name,
            )
        )
    elif kind == "tandem_active":
        paragraphs.append(
            _l(
                "Everyone has signed: your agreement with %(names)s is in force and your "
                "tandem is active. Your sessions follow the rhythm you agreed on.",
                names=names,
            )
        )
        paragraphs.append(
            _l(
                "Peer coaching complements, and never replaces, therapy or professional "
                "counselling."
            )
        )
    elif kind == "agreement_in_force":
        paragraphs.append(
            _l(
                "Everyone has signed the changed agreement with %(names)s; it is in force now. "
                "Your sessions follow it from the next one on.",
                names=names,
            )
        )
    elif kind == "tandem_ended":
        paragraphs.append(
            _l(
                "%(name)s has ended your tandem. Thank you for the time you gave each other; "
                "your future sessions are cancelled.",
                name=name,
            )
        )
        quote, quote_label = _note_of(tandem, actor), _l("%(name)s left you a note:", name=name)
    elif kind == "term_continue":
        paragraphs.append(
            _l(
                "%(name)s would like to go on for another term. The new term is in your "
                "agreement: read it and sign it if you would like to continue too.",
                name=name,
            )
        )
    elif kind == "term_complete":
        paragraphs.append(
            _l(
                "%(name)s would like to complete your tandem at the end of the term. What "
                "would you like?",
                name=name,
            )
        )
        quote, quote_label = _note_of(tandem, actor), _l("%(name)s left you a note:", name=name)
    elif kind == "tandem_completed":
        paragraphs.append(
            _l(
                "Your tandem with %(names)s is completed. Congratulations on what you reached "
                "together, and thank you for giving and taking on equal footing.",
                names=names,
            )
        )
    elif kind == "tandem_invited":
        paragraphs.append(
            _l(
                "%(name)s invites you into their peer-coaching group with %(names)s.",
                name=name,
                names=names,
            )
        )
        if invitation is not None and invitation.message:
            quote, quote_label = invitation.message, _l("%(name)s writes:", name=name)
    elif kind == "tandem_left":
        paragraphs.append(
            _l(
                "%(name)s has left your group; the rest of you go on. Your agreement stays in "
                "force, and the roles in your sessions now rotate among you.",
                name=name,
            )
        )
        quote, quote_label = note, _l("%(name)s left you a note:", name=name)
    elif kind == "tandem_joined":
        paragraphs.append(
            _l(
                "%(name)s has joined your group. Welcome them, and ask them to sign your "
                "agreement.",
                name=name,
            )
        )
    elif kind == "tandem_invitation_declined":
        paragraphs.append(_l("%(name)s will not join your group this time.", name=name))
    elif kind == "tandem_group_formed":
        paragraphs.append(
            _l(
                "You and %(names)s all said yes to the matching round's proposal: your group "
                "is forming. Next, write your agreement together; it is ready as a first "
                "draft.",
                names=names,
            )
        )
        paragraphs.append(
            _l(
                "In each session one of you brings a case, one moderates, and the others "
                "advise; the roles rotate."
            )
        )
    elif kind == "term_ending":
        paragraphs.append(
            _l(
                "Your term with %(names)s ends in two weeks. Decide together: continue for "
                "another term, adjust your agreement, or complete your tandem with a farewell "
                "note.",
                names=names,
            )
        )
    elif kind == "check_in_open":
        paragraphs.append(
            _l(
                "It is time for your check-in with %(names)s, as your agreement says. Rate how "
                "far you feel along each goal, and say what helped and what you would change.",
                names=names,
            )
        )
        paragraphs.append(
            _l(
                "Nobody sees the answers before everyone has answered; then you read them "
                "together, and can adjust your agreement if you like."
            )
        )
    elif kind == "check_in_reminder":
        paragraphs.append(
            _l(
                "Your check-in with %(names)s is still waiting for your answer. It takes a few "
                "minutes, and the others read the answers once everyone has given theirs.",
                names=names,
            )
        )
    else:
        raise ValueError(f"unknown tandem mail {kind!r}")
    return {
        "paragraphs": paragraphs,
        "items": [],
        "quote": quote,
        "quote_label": quote_label,
        "link_label": LINK_LABELS.get(kind, _l("Open your tandem")),
    }
