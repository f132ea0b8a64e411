"""`flask seed --members N [--seed S]`: a large, varied, deterministic community for development.

Every seeded member has a complete profile (verified e-mail, onboarded, tags, goals,
languages, weekly availability) and signs in with one shared password. Member `i` of seed
`S` is `member-S-i@seed.example`, and everything about it derives from `(S, i)` alone
(`generate_member`), so the same seed gives the same community on any database, and a
second run continues the numbering instead of colliding.

Rows go in with bulk inserts, a few thousand members per batch: 100,000 members take
well under a minute on SQLite.
"""

from __future__ import annotations

import random
import re
import time
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import accumulate

import click
from flask import Blueprint, current_app
from sqlalchemy import Table, insert, select, text

from peerhub.accounts.models import User, new_session_token
from peerhub.extensions import db, utcnow
from peerhub.profiles.models import (
    ABOUT_MAX,
    GOAL_MAX,
    HEADLINE_MAX,
    AvailabilityWindow,
    Goal,
    Profile,
    ProfileLanguage,
    ProfileTag,
    Tag,
    language_mask,
    weekday_mask,
)
from peerhub.profiles.text import clean_tag_name, stems, tag_key

bp = Blueprint("seed_cli", __name__, cli_group=None)

BATCH = 5_000
_PROFILE_TABLES = (
    "profile",
    "profile_goal",
    "profile_tag",
    "profile_language",
    "availability_window",
)
EMAIL_DOMAIN = "seed.example"  # RFC 2606: never a real mailbox

# --- names --------------------------------------------------------------------
# (first name, "f"/"m", a language the name hints the member also speaks)

GERMAN_FIRST = (
    *(
        (n, "f", None)
        for n in (
            "Anna", "Lena", "Laura", "Julia", "Sarah", "Lisa", "Katharina", "Johanna",
            "Sophie", "Marie", "Hannah", "Lea", "Miriam", "Franziska", "Christina",
            "Sabine", "Claudia", "Petra", "Stefanie", "Nicole", "Susanne", "Andrea",
            "Birgit", "Jana", "Carolin", "Theresa", "Annika", "Vanessa", "Nina", "Eva",
        )
    ),
    *(
        (n, "m", None)
        for n in (
            "Lukas", "Jonas", "Felix", "Maximilian", "Paul", "Leon", "Tobias", "Florian",
            "Sebastian", "Daniel", "Jan", "Stefan", "Michael", "Thomas", "Andreas",
            "Markus", "Matthias", "Christian", "Alexander", "Philipp", "Moritz", "Niklas",
            "Simon", "Benedikt", "Johannes", "Dominik", "Patrick", "Kai", "Jürgen", "Uwe",
        )
    ),
)  # fmt: skip

INTERNATIONAL_FIRST = (
    ("Emma", "f", None), ("Olivia", "f", None), ("Charlotte", "f", None),
    ("Amelia", "f", None), ("Grace", "f", None), ("Chloe", "f", None),
    ("Emily", "f", None), ("Sophia", "f", None), ("Isabella", "f", "it"),
    ("Priya", "f", "hi"), ("Aisha", "f", "ar"), ("Fatima", "f", "ar"),
    ("Elif", "f", "tr"), ("Zeynep", "f", "tr"), ("Mei", "f", "zh"),
    ("Yuki", "f", "ja"), ("Ana", "f", "pt"), ("Lucía", "f", "es"),
    ("Chiara", "f", "it"), ("Camille", "f", "fr"), ("Ingrid", "f", "sv"),
    ("Oksana", "f", "uk"), ("Natalia", "f", "pl"), ("Maja", "f", "pl"),
    ("Sofia", "f", "el"), ("Eszter", "f", "hu"), ("Ioana", "f", "ro"),
    ("Leila", "f", "fa"), ("Nadia", "f", "ru"), ("Hanna", "f", "da"),
    ("James", "m", None), ("Oliver", "m", None), ("Noah", "m", None),
    ("William", "m", None), ("Henry", "m", None), ("Jack", "m", None),
    ("Ethan", "m", None), ("Samuel", "m", None), ("George", "m", None),
    ("Liam", "m", None), ("Raj", "m", "hi"), ("Arjun", "m", "hi"),
    ("Omar", "m", "ar"), ("Mehmet", "m", "tr"), ("Emre", "m", "tr"),
    ("Mateo", "m", "es"), ("Luca", "m", "it"), ("Marco", "m", "it"),
    ("Pierre", "m", "fr"), ("Hugo", "m", "fr"), ("Lars", "m", "sv"),
    ("Piotr", "m", "pl"), ("Tomasz", "m", "pl"), ("Taras", "m", "uk"),
    ("Kenji", "m", "ja"), ("Kwame", "m", None), ("Diego", "m", "es"),
    ("João", "m", "pt"), ("Andrei", "m", "ro"), ("Dimitris", "m", "el"),
)  # fmt: skip

GERMAN_LAST = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann",
    "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer",
    "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung",
    "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger",
    "Winkler", "Roth", "Beck", "Lorenz",
)  # fmt: skip

INTERNATIONAL_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas",
    "Roberts", "Walker", "Wright", "Thompson", "Hughes", "Edwards", "Green", "Hall",
    "Clarke", "Murphy", "O'Brien", "Kelly", "Patel", "Sharma", "Singh", "Kumar",
    "Yılmaz", "Kaya", "Demir", "Şahin", "Kowalski", "Nowak", "Lewandowski",  # noqa: RUF001
    "Shevchenko", "Kovalenko", "Rossi", "Russo", "Bianchi", "García", "Fernández",
    "López", "Martínez", "Dubois", "Martin", "Bernard", "Nguyen", "Tanaka", "Sato",
    "Chen", "Wang", "Li", "Okafor", "Mensah", "Silva", "Santos", "Andersson",
    "Johansson", "Novák", "Horváth", "Popescu", "Papadopoulos", "Haddad",
)  # fmt: skip

# --- the shared tag vocabulary, most popular first (Zipf-like) ------------------

TAGS = (
    "Zeitmanagement", "Feedback geben", "Agiles Projektmanagement", "Public Speaking",
    "Konfliktlösung", "Selbstorganisation", "Stakeholder Management", "Führung",
    "Kommunikation", "Resilienz", "Python", "Präsentieren", "Storytelling", "Verhandlung",
    "Scrum", "UX Research", "Moderation", "Priorisierung", "Work-Life-Balance",
    "Karriereplanung", "Excel", "Datenanalyse", "Change Management", "Networking",
    "Delegieren", "Coaching", "Remote Work", "Kanban", "Design Thinking", "Selbstmarketing",
    "SQL", "Product Management", "Mitarbeitergespräche", "Gehaltsverhandlung", "Strategie",
    "Entscheidungen treffen", "Achtsamkeit", "Stressmanagement", "Schreiben",
    "Business English", "JavaScript", "Machine Learning", "Cloud Computing",
    "Projektplanung", "OKR", "Workshop-Design", "Visualisierung", "Facilitation",
    "Mentoring", "Kollegiale Fallberatung", "Teamentwicklung", "Vertrieb", "Marketing",
    "Social Media", "Budgetplanung", "Bewerbung", "LinkedIn",
    "Interkulturelle Kommunikation", "Emotional Intelligence", "Growth Mindset",
    "Prokrastination überwinden", "Fokus", "Lernstrategien", "Wissenschaftliches Schreiben",
    "Statistik", "Requirements Engineering", "Testautomatisierung", "DevOps",
    "Barrierefreiheit", "Rhetorik", "Gewaltfreie Kommunikation", "Selbstvertrauen",
    "Impostor-Syndrom", "Vereinbarkeit von Familie und Beruf", "Nachhaltigkeit", "Finanzen",
    "Gründung", "Design Systems", "Figma", "Pressearbeit", "Agile Coaching", "Deutsch im Beruf",
)  # fmt: skip

ENGLISH_TAGS = frozenset(
    (
        "Public Speaking", "Stakeholder Management", "Python", "Storytelling", "Scrum",
        "UX Research", "Excel", "Change Management", "Networking", "Coaching", "Remote Work",
        "Kanban", "Design Thinking", "SQL", "Product Management", "Business English",
        "JavaScript", "Machine Learning", "Cloud Computing", "OKR", "Facilitation", "Mentoring",
        "Marketing", "Social Media", "LinkedIn", "Emotional Intelligence", "Growth Mindset",
        "Requirements Engineering", "DevOps", "Design Systems", "Figma", "Agile Coaching",
    )
)  # fmt: skip

# What people look for is not what they offer most: the soft skills lead.
SEEK_FAVOURITES = (
    "Zeitmanagement", "Public Speaking", "Selbstorganisation", "Resilienz", "Führung",
    "Verhandlung", "Feedback geben", "Gehaltsverhandlung", "Konfliktlösung", "Priorisierung",
    "Stressmanagement", "Delegieren", "Python", "Karriereplanung", "Storytelling",
    "Selbstvertrauen", "Work-Life-Balance", "Stakeholder Management", "Präsentieren",
    "Datenanalyse",
)  # fmt: skip

CONTEXT_WEIGHTS = {
    "professional": 45,
    "leader": 20,
    "team": 10,
    "student": 10,
    "career_starter": 15,
}

# Per context: a tag the member likely offers, one they likely seek (drawn half the time).
CONTEXT_TAGS = {
    "professional": (
        ("Agiles Projektmanagement", "Python", "Excel", "Datenanalyse", "UX Research", "SQL"),
        ("Zeitmanagement", "Public Speaking", "Führung", "Gehaltsverhandlung", "Networking"),
    ),
    "leader": (
        ("Führung", "Mitarbeitergespräche", "Strategie", "Delegieren", "Change Management"),
        ("Resilienz", "Delegieren", "Konfliktlösung", "Stressmanagement", "Coaching"),
    ),
    "team": (
        ("Scrum", "Kanban", "Moderation", "Facilitation", "Teamentwicklung", "Agile Coaching"),
        ("Feedback geben", "Konfliktlösung", "Kollegiale Fallberatung", "OKR", "Priorisierung"),
    ),
    "student": (
        ("Python", "Statistik", "Social Media", "Schreiben", "Lernstrategien"),
        ("Wissenschaftliches Schreiben", "Bewerbung", "Prokrastination überwinden", "Fokus"),
    ),
    "career_starter": (
        ("Social Media", "Python", "Figma", "Excel", "Business English", "JavaScript"),
        ("Selbstvertrauen", "Impostor-Syndrom", "Gehaltsverhandlung", "Karriereplanung"),
    ),
}

# (German female, German male, English) job titles per context.
ROLES = {
    "professional": (
        ("Projektmanagerin", "Projektmanager", "Project manager"),
        ("Softwareentwicklerin", "Softwareentwickler", "Software developer"),
        ("UX-Designerin", "UX-Designer", "UX designer"),
        ("Produktmanagerin", "Produktmanager", "Product manager"),
        ("Personalreferentin", "Personalreferent", "HR specialist"),
        ("Vertriebsleiterin", "Vertriebsleiter", "Sales manager"),
        ("Beraterin", "Berater", "Consultant"),
        ("Data Scientist", "Data Scientist", "Data scientist"),
        ("Marketing-Managerin", "Marketing-Manager", "Marketing manager"),
        ("Controllerin", "Controller", "Financial controller"),
        ("Lehrerin", "Lehrer", "Teacher"),
        ("Ingenieurin", "Ingenieur", "Engineer"),
        ("Redakteurin", "Redakteur", "Editor"),
    ),
    "leader": (
        ("Teamleiterin", "Teamleiter", "Team lead"),
        ("Abteilungsleiterin", "Abteilungsleiter", "Head of department"),
        ("Geschäftsführerin", "Geschäftsführer", "Managing director"),
        ("Bereichsleiterin", "Bereichsleiter", "Division head"),
        ("Engineering Managerin", "Engineering Manager", "Engineering manager"),
        ("Schulleiterin", "Schulleiter", "Head teacher"),
    ),
    "team": (
        ("Scrum Master", "Scrum Master", "Scrum master"),
        ("Agile Coach", "Agile Coach", "Agile coach"),
        ("Product Ownerin", "Product Owner", "Product owner"),
        ("Team-Coach", "Team-Coach", "Team coach"),
    ),
    "student": (
        ("Informatikstudentin", "Informatikstudent", "Computer science student"),
        ("BWL-Studentin", "BWL-Student", "Business student"),
        ("Psychologiestudentin", "Psychologiestudent", "Psychology student"),
        ("Masterstudentin", "Masterstudent", "Master's student"),
        ("Doktorandin", "Doktorand", "PhD student"),
    ),
    "career_starter": (
        ("Berufseinsteigerin im Marketing", "Berufseinsteiger im Marketing", "Marketing graduate"),
        ("Trainee im Controlling", "Trainee im Controlling", "Finance trainee"),
        ("Junior-Entwicklerin", "Junior-Entwickler", "Junior developer"),
        ("Absolventin", "Absolvent", "Recent graduate"),
        ("Junior-Beraterin", "Junior-Berater", "Junior consultant"),
    ),
}

WORKPLACES = {
    "de": {
        "professional": (
            "in einem mittelständischen Unternehmen",
            "in einem Start-up",
            "in einem Konzern",
            "im öffentlichen Dienst",
            "in einer Agentur",
            "in einer Unternehmensberatung",
        ),
        "leader": ("in einem Familienunternehmen", "in einem Scale-up", "in einem Konzern"),
        "team": ("in einem agilen Produktteam", "in einem verteilten Team", "in einer Agentur"),
        "student": ("an einer Universität", "an einer Fachhochschule", "im letzten Semester"),
        "career_starter": ("im ersten Berufsjahr", "in einem Trainee-Programm", "seit kurzem"),
    },
    "en": {
        "professional": (
            "at a mid-sized company",
            "at a start-up",
            "at a large corporation",
            "in the public sector",
            "at an agency",
            "at a consultancy",
        ),
        "leader": ("at a family business", "at a scale-up", "at a large corporation"),
        "team": ("in an agile product team", "in a distributed team", "at an agency"),
        "student": ("at a university", "at a university of applied sciences", "in my last term"),
        "career_starter": ("in my first year at work", "in a trainee programme", "since recently"),
    },
}

HEADLINES = {
    "de": (
        "{role} · biete {o1}, suche Unterstützung bei {s1}",
        "{role} mit Freude an {o1} und {o2}",
        "{role}, möchte in {s1} wachsen",
        "{o1} teile ich gern, {s1} möchte ich lernen",
        "{role} sucht ein Tandem für {s1}",
        "{role} · {o1} · {o2}",
    ),
    "en": (
        "{role} · offering {o1}, looking for support with {s1}",
        "{role} who enjoys {o1} and {o2}",
        "{role}, keen to grow in {s1}",
        "Happy to share {o1}, want to learn {s1}",
        "{role} looking for a peer tandem on {s1}",
        "{role} · {o1} · {o2}",
    ),
}

ABOUT = {
    "de": {
        "intro": (
            "Ich bin {a_role} {place}.",
            "Beruflich bin ich {a_role} {place}.",
            "Seit ein paar Jahren arbeite ich als {a_role} {place}.",
        ),
        "offer": (
            "Anderen helfe ich gern bei {o1} und {o2}.",
            "Meine Stärken liegen in {o1} und {o2}.",
            "Kolleginnen und Kollegen fragen mich oft nach {o1}.",
        ),
        "seek": (
            "Gerade möchte ich besser in {s1} werden.",
            "Unterstützung suche ich vor allem bei {s1}.",
            "An {s1} arbeite ich im Moment ganz bewusst.",
        ),
        "style": (
            "Mir sind ehrliches Feedback und Vertraulichkeit auf Augenhöhe wichtig.",
            "Ich mag eine klare Struktur in unseren Gesprächen.",
            "Verlässlichkeit ist mir wichtig: passt ein Termin nicht, sage ich rechtzeitig ab.",
            "Am liebsten treffe ich mich {rhythm}.",
        ),
        "interest": ("Privat interessiere ich mich für {i1}.", "Außerdem begeistert mich {i1}."),
        "weekly": "jede Woche",
        "biweekly": "alle zwei Wochen",
    },
    "en": {
        "intro": (
            "I'm {a_role} {place}.",
            "I work as {a_role} {place}.",
            "For a few years now I've been {a_role} {place}.",
        ),
        "offer": (
            "I'm glad to help others with {o1} and {o2}.",
            "My strengths are {o1} and {o2}.",
            "Colleagues often ask me about {o1}.",
        ),
        "seek": (
            "Right now I want to get better at {s1}.",
            "I'm mainly looking for support with {s1}.",
            "I'm deliberately working on {s1} at the moment.",
        ),
        "style": (
            "Honest feedback and confidentiality on equal footing matter to me.",
            "I like a clear structure in our conversations.",
            "Reliability matters to me: I cancel in good time when a date does not work.",
            "I'd like to meet {rhythm}.",
        ),
        "interest": ("Outside work I'm into {i1}.", "I'm also fascinated by {i1}."),
        "weekly": "every week",
        "biweekly": "every two weeks",
    },
}

GOALS_FOR_SEEK = {
    "de": (
        "Bis Ende des Quartals möchte ich {s} im Alltag sicher anwenden.",
        "In den nächsten drei Monaten möchte ich meine Fähigkeiten in {s} gezielt ausbauen.",
        "Bis zum Sommer möchte ich in {s} so sicher sein, dass ich anderen Tipps geben kann.",
        "Ich möchte lernen, {s} in meinem Team einzuführen.",
        "Bis Ende des Quartals möchte ich zu {s} ein konkretes Projekt umsetzen.",
    ),
    "en": (
        "By the end of the quarter I want to apply {s} confidently in my daily work.",
        "Over the next three months I want to deliberately build my skills in {s}.",
        "By the summer I want to be confident enough in {s} to give others tips.",
        "I want to learn how to introduce {s} in my team.",
        "By the end of the quarter I want to finish a concrete project on {s}.",
    ),
}

GOALS_GENERAL = {
    "de": (
        "Bis Ende des Jahres möchte ich eine Präsentation vor der Geschäftsleitung halten.",
        "Ich möchte jede Woche eine Stunde fest für meine Weiterbildung blocken.",
        "Bis Ende des Quartals möchte ich ein Feedbackgespräch mit meiner Führungskraft führen.",
        "Ich möchte Nein sagen können, ohne mich schlecht zu fühlen.",
        "In sechs Monaten möchte ich meinen nächsten Karriereschritt klar vor Augen haben.",
        "Bis Ende des Quartals möchte ich meine Arbeitswoche so planen, dass Freitag frei bleibt.",
        "Ich möchte in Meetings öfter meine Meinung sagen.",
    ),
    "en": (
        "By the end of the year I want to give a presentation to senior leadership.",
        "I want to block one hour every week for my own learning.",
        "By the end of the quarter I want to have a feedback conversation with my manager.",
        "I want to be able to say no without feeling bad about it.",
        "In six months I want to have a clear picture of my next career step.",
        "By the end of the quarter I want to plan my week so that Friday stays free.",
        "I want to speak up more often in meetings.",
    ),
}

# (zone, weight) for German-named and for international members.
ZONES_GERMAN = (
    ("Europe/Berlin", 80),
    ("Europe/Vienna", 10),
    ("Europe/Zurich", 8),
    ("Europe/London", 2),
)
ZONES_INTERNATIONAL = (
    ("Europe/Berlin", 55),
    ("Europe/Vienna", 5),
    ("Europe/Zurich", 7),
    ("Europe/London", 13),
    ("America/New_York", 10),
    ("Asia/Kolkata", 10),
)
# In-person members meet in a city of their own country (members elsewhere meet by video).
CITIES = {
    "Europe/Berlin": (
        ("Berlin", 30), ("Hamburg", 14), ("München", 14), ("Köln", 10),
        ("Frankfurt am Main", 9), ("Stuttgart", 7), ("Düsseldorf", 6), ("Leipzig", 6),
        ("Dortmund", 4), ("Essen", 4), ("Bremen", 4), ("Dresden", 5), ("Hannover", 5),
        ("Nürnberg", 5), ("Freiburg im Breisgau", 3), ("Münster", 3), ("Karlsruhe", 3),
        ("Mannheim", 3), ("Bonn", 3), ("Heidelberg", 2), ("Kiel", 2), ("Potsdam", 2),
    ),
    "Europe/Vienna": (
        ("Wien", 50), ("Graz", 15), ("Linz", 12), ("Salzburg", 12), ("Innsbruck", 10),
    ),
    "Europe/Zurich": (
        ("Zürich", 40), ("Basel", 15), ("Bern", 15), ("Luzern", 10), ("St. Gallen", 8),
    ),
}  # fmt: skip
OTHER_LANGUAGES = (
    ("fr", 20), ("es", 18), ("it", 12), ("tr", 10), ("pl", 8), ("ru", 8),
    ("uk", 6), ("nl", 6), ("pt", 4), ("ar", 4), ("sv", 2), ("cs", 2),
)  # fmt: skip

WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)
WEEKDAY_WEIGHTS = (14, 20, 18, 20, 10, 7, 11)


@dataclass(frozen=True)
class ProfileSpec:
    """A complete profile as plain values, ready to be written (see `add_profile`)."""

    context: str
    headline: str
    about: str
    offers: tuple[str, ...]
    seeks: tuple[str, ...]
    interests: tuple[str, ...]
    goals: tuple[str, ...]
    languages: tuple[str, ...]
    windows: tuple[tuple[int, int, int], ...]  # weekday (0 = Monday), start minute, end minute
    meeting_mode: str = "video"
    city: str | None = None
    rhythm: str = "weekly"
    session_length: int = 60
    capacity: int = 2
    status: str = "open"
    visibility: str = "members"
    # `about` in the pieces it was built from (joined by spaces), for cached stemming
    about_parts: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class SeedMember:
    """One seeded member; times are offsets back from the moment of seeding."""

    index: int
    email: str
    display_name: str
    language: str
    timezone: str
    profile: ProfileSpec
    age_minutes: int  # how long ago the account was made
    extra: dict = field(default_factory=dict, compare=False, repr=False)


class _Weighted:
    """random.choices with precomputed cumulative weights (the hot path draws millions)."""

    def __init__(self, pairs: Sequence[tuple[object, float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cumulative = list(accumulate(w for _, w in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect(self.cumulative, rng.random() * self.total)]

    def distinct(self, rng: random.Random, count: int, exclude: set) -> list:
        """`count` different values (fewer if the pool runs out), none of them in `exclude`."""
        chosen: list = []
        tries = 0
        while len(chosen) < count and tries < count * 20:
            value = self.pick(rng)
            if value not in exclude and value not in chosen:
                chosen.append(value)
            tries += 1
        return chosen


def _zipf(
    names: Sequence[str], exponent: float = 1.0, shift: float = 0.0, english_boost: float = 1.0
) -> _Weighted:
    """Zipf(-Mandelbrot) popularity: weight 1 / (rank + shift) ** exponent, rank from 1."""
    return _Weighted(
        [
            (name, (english_boost if name in ENGLISH_TAGS else 1) / (rank + 1 + shift) ** exponent)
            for rank, name in enumerate(names)
        ]
    )


# A flattened head: the most popular tag is offered by about a quarter of the members,
# the median one by a few percent. Members who speak English in the app lean to the
# English words of the (shared, mixed) vocabulary.
def _pools(boost: float) -> dict[str, _Weighted]:
    seek_order = [*SEEK_FAVOURITES, *(t for t in TAGS if t not in SEEK_FAVOURITES)]
    interest_order = [*reversed(TAGS[:40]), *TAGS[40:]]  # flatter, another order
    return {
        "offer": _zipf(TAGS, 1.0, 4, boost),
        "seek": _zipf(seek_order, 1.0, 4, boost),
        "interest": _zipf(interest_order, 0.6, 0, boost),
    }


_TAG_POOLS = {"de": _pools(1.0), "en": _pools(4.0)}
_CONTEXT_POOL = _Weighted(list(CONTEXT_WEIGHTS.items()))
_ZONES = {
    "german": _Weighted(ZONES_GERMAN),
    "international": _Weighted(ZONES_INTERNATIONAL),
}
_CITIES = {zone: _Weighted(pairs) for zone, pairs in CITIES.items()}
_OTHER_LANGUAGES = _Weighted(OTHER_LANGUAGES)
_WEEKDAY_POOL = _Weighted(list(zip(WEEKDAYS, WEEKDAY_WEIGHTS, strict=True)))
_EVENING_STARTS = _Weighted(
    [
        (17 * 60, 6),
        (17 * 60 + 30, 10),
        (18 * 60, 30),
        (18 * 60 + 30, 14),
        (19 * 60, 24),
        (19 * 60 + 30, 10),
        (20 * 60, 6),
    ]
)
_MORNING_STARTS = _Weighted([(7 * 60, 30), (7 * 60 + 30, 35), (8 * 60, 35)])
_WEEKEND_STARTS = _Weighted([(9 * 60, 20), (10 * 60, 35), (14 * 60, 20), (16 * 60, 15)])
_LENGTHS = _Weighted([(60, 30), (90, 35), (120, 30), (150, 5)])


def _window(rng: random.Random, weekday: int, session_length: int) -> tuple[int, int, int]:
    """One window on `weekday`: evenings mostly, some lunch breaks and early mornings."""
    if weekday >= 5:
        start = _WEEKEND_STARTS.pick(rng)
        if weekday == 6 and rng.random() < 0.4:  # Sunday evening
            start = _EVENING_STARTS.pick(rng)
        length = _LENGTHS.pick(rng)
    else:
        roll = rng.random()
        if roll < 0.68:
            start, length = _EVENING_STARTS.pick(rng), _LENGTHS.pick(rng)
        elif roll < 0.84:
            start = 12 * 60 + rng.choice((0, 0, 30))
            length = 60
        else:
            start, length = _MORNING_STARTS.pick(rng), rng.choice((60, 90))
    end = min(start + max(length, session_length), 23 * 60)
    return weekday, start, end


def _with_article(role: str) -> str:
    """ "Project manager" -> "a project manager", "HR specialist" -> "an HR specialist"."""
    first = role.split()[0]
    if not any(c.isupper() for c in first[1:]):  # keep UX, HR, PhD as written
        role = role[0].lower() + role[1:]
    return ("an " if role[0] in "aeioAEIO" or first == "HR" else "a ") + role


def _fit(text_: str, limit: int) -> str:
    return text_ if len(text_) <= limit else text_[: limit - 1].rstrip() + "…"


def generate_member(seed: int, index: int) -> SeedMember:
    """Member `index` of seed `seed`, the same on every run and every database."""
    rng = random.Random(f"peerhub-seed:{seed}:{index}")  # noqa: S311 - sample data, not secrets

    international = rng.random() < 0.3
    first, gender, name_language = rng.choice(
        INTERNATIONAL_FIRST if international else GERMAN_FIRST
    )
    same_origin = rng.random() < 0.85
    last = rng.choice(INTERNATIONAL_LAST if international == same_origin else GERMAN_LAST)
    display_name = f"{first} {last[0]}."

    if international:
        language = "en" if rng.random() < 0.65 else "de"
    else:
        language = "de" if rng.random() < 0.92 else "en"
    spoken = {language}
    if language == "de" or rng.random() < 0.8:
        spoken.add("de")
    if language == "en" or international or rng.random() < 0.7:
        spoken.add("en")
    if name_language and rng.random() < 0.75:
        spoken.add(name_language)
    if rng.random() < 0.15:
        spoken.add(_OTHER_LANGUAGES.pick(rng))
    zone = _ZONES["international" if international else "german"].pick(rng)

    context = _CONTEXT_POOL.pick(rng)
    female_de, male_de, english = rng.choice(ROLES[context])
    role = english if language == "en" else (female_de if gender == "f" else male_de)

    context_offers, context_seeks = CONTEXT_TAGS[context]
    offers: list[str] = []
    if rng.random() < 0.5:
        offers.append(rng.choice(context_offers))
    pools = _TAG_POOLS[language]
    offers += pools["offer"].distinct(rng, rng.randint(2, 6) - len(offers), set(offers))
    seeks: list[str] = []
    first_seek = rng.choice(context_seeks)
    if rng.random() < 0.5 and first_seek not in offers:
        seeks.append(first_seek)
    seeks += pools["seek"].distinct(rng, rng.randint(1, 4) - len(seeks), set(offers) | set(seeks))
    interests = pools["interest"].distinct(
        rng, rng.choice((0, 1, 1, 2, 2, 3, 4)), {*offers, *seeks}
    )

    roll = rng.random()
    meeting_mode = "video" if roll < 0.60 else ("in_person" if roll < 0.75 else "either")
    if zone not in CITIES:
        meeting_mode = "video"
    city = _CITIES[zone].pick(rng) if meeting_mode != "video" else None
    rhythm = "weekly" if rng.random() < 0.55 else "biweekly"
    session_length = 60 if rng.random() < 0.55 else 90
    capacity = rng.choices((1, 2, 3), weights=(20, 60, 20))[0]
    status = "open" if rng.random() < 0.9 else "paused"
    visibility = "members" if rng.random() < 0.95 else "hidden"

    words = {
        "role": role,
        "o1": offers[0],
        "o2": offers[1],
        "s1": seeks[0],
        "i1": interests[0] if interests else "",
    }
    headline = rng.choice(HEADLINES[language]).format(**words)
    if len(headline) > HEADLINE_MAX:
        headline = _fit(f"{role} · {offers[0]}", HEADLINE_MAX)

    about_texts = ABOUT[language]
    words["place"] = rng.choice(WORKPLACES[language][context])
    words["rhythm"] = about_texts[rhythm]
    words["a_role"] = _with_article(role) if language == "en" else role
    # students and career starters have no "for years" or "professionally" yet
    intros = about_texts["intro"][:1] if context in ("student", "career_starter") else None
    sentences = [rng.choice(intros or about_texts["intro"]), rng.choice(about_texts["offer"])]
    optional = ["seek", "style"] + (["interest"] if interests else [])
    rng.shuffle(optional)
    sentences += [rng.choice(about_texts[part]) for part in optional[: rng.randint(0, 2)]]
    sentences = [s.format(**words) for s in sentences]
    about = _fit(" ".join(sentences), ABOUT_MAX)

    goal_count = rng.choices((1, 2, 3, 4, 5), weights=(15, 30, 30, 15, 10))[0]
    goals: list[str] = []
    seek_templates = list(GOALS_FOR_SEEK[language])
    rng.shuffle(seek_templates)
    for seek, template in zip(seeks, seek_templates, strict=False):
        if len(goals) < goal_count and (not goals or rng.random() < 0.7):
            goals.append(template.format(s=seek))
    general = list(GOALS_GENERAL[language])
    rng.shuffle(general)
    goals += general[: goal_count - len(goals)]
    goals = [_fit(goal, GOAL_MAX) for goal in goals]

    weekdays = _WEEKDAY_POOL.distinct(rng, rng.choices((1, 2, 3, 4), (30, 40, 20, 10))[0], set())
    windows = tuple(sorted(_window(rng, day, session_length) for day in weekdays))

    profile = ProfileSpec(
        context=context,
        headline=headline,
        about=about,
        offers=tuple(offers),
        seeks=tuple(seeks),
        interests=tuple(interests),
        goals=tuple(goals),
        languages=tuple(sorted(spoken)),
        windows=windows,
        meeting_mode=meeting_mode,
        city=city,
        rhythm=rhythm,
        session_length=session_length,
        capacity=capacity,
        status=status,
        visibility=visibility,
        about_parts=tuple(sentences) if about == " ".join(sentences) else (about,),
    )
    return SeedMember(
        index=index,
        email=member_email(seed, index),
        display_name=display_name,
        language=language,
        timezone=zone,
        profile=profile,
        age_minutes=int(900 * 24 * 60 * rng.random() ** 1.6) + 60,  # recent sign-ups more often
        extra={
            "verified_after": rng.randint(2, 600),
            "onboarded_after": rng.randint(10, 3000),
            "edited_after": rng.randint(0, 60 * 24 * 90),
            "login_before": rng.randint(0, 60 * 24 * 60) if rng.random() < 0.85 else None,
        },
    )


_key = lru_cache(maxsize=4096)(tag_key)  # the same few hundred tag names and cities, all day


@lru_cache(maxsize=100_000)
def _part_stems(part: str) -> tuple[str, ...]:
    return tuple(stems(part))


def _search_document(*parts: str) -> str:
    """text.search_document(*parts), word for word, with the stems of repeated parts cached.

    Seeded texts are built from a few hundred sentences, so this saves most of the stemming.
    """
    return " ".join(dict.fromkeys(stem for part in parts for stem in _part_stems(part)))


def member_email(seed: int, index: int) -> str:
    return f"member-{seed}-{index}@{EMAIL_DOMAIN}"


def _next_index(seed: int) -> int:
    """The first unused member number for `seed`: a second run continues, never collides."""
    prefix = f"member-{seed}-"
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)@{re.escape(EMAIL_DOMAIN)}$")
    emails = db.session.scalars(
        select(User.email).where(User.email.like(f"{prefix}%@{EMAIL_DOMAIN}"))
    )
    numbers = [int(m.group(1)) for e in emails if (m := pattern.match(e))]
    return max(numbers) + 1 if numbers else 1


def ensure_tags(names: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Tag id and stored spelling by key for `names`, creating the missing tags in bulk."""
    wanted = {tag_key(clean_tag_name(n)): clean_tag_name(n) for n in names}
    found = {
        key: (tag_id, name)
        for tag_id, key, name in db.session.execute(
            select(Tag.id, Tag.key, Tag.name).where(Tag.key.in_(list(wanted)))
        )
    }
    missing = [key for key in wanted if key not in found]
    if missing:
        now = utcnow()
        db.session.execute(
            insert(Tag), [{"name": wanted[key], "key": key, "created_at": now} for key in missing]
        )
        for tag_id, key, name in db.session.execute(
            select(Tag.id, Tag.key, Tag.name).where(Tag.key.in_(missing))
        ):
            found[key] = (tag_id, name)
    return found


def profile_rows(
    user_id: int,
    spec: ProfileSpec,
    tags: dict[str, tuple[int, str]],
    created_at: datetime,
    onboarded_at: datetime | None,
    updated_at: datetime,
) -> dict[Table, list[dict]]:
    """The rows of one complete profile by table; `tags` maps tag keys to (id, stored name)."""
    chosen = {
        kind: [tags[_key(name)] for name in names]
        for kind, names in (
            ("offer", spec.offers),
            ("seek", spec.seeks),
            ("interest", spec.interests),
        )
    }
    document = _search_document(
        spec.headline,
        *(spec.about_parts or (spec.about,)),
        *spec.goals,
        *(name for found in chosen.values() for _id, name in found),
    )
    return {
        Profile.__table__: [
            {
                "user_id": user_id,
                "headline": spec.headline,
                "about": spec.about,
                "context": spec.context,
                "meeting_mode": spec.meeting_mode,
                "city": spec.city,
                "city_key": _key(spec.city) if spec.city else None,
                "rhythm": spec.rhythm,
                "session_length": spec.session_length,
                "capacity": spec.capacity,
                "status": spec.status,
                "visibility": spec.visibility,
                "search_document": document,
                "language_mask": language_mask(spec.languages),
                "weekday_mask": weekday_mask(d for d, _s, _e in spec.windows),
                "onboarded_at": onboarded_at,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        ],
        Goal.__table__: [
            {"user_id": user_id, "position": p, "text": t} for p, t in enumerate(spec.goals)
        ],
        ProfileTag.__table__: [
            {"user_id": user_id, "tag_id": tag_id, "kind": kind}
            for kind, found in chosen.items()
            for tag_id, _name in found
        ],
        ProfileLanguage.__table__: [{"user_id": user_id, "code": c} for c in spec.languages],
        AvailabilityWindow.__table__: [
            {"user_id": user_id, "weekday": d, "start_minute": s, "end_minute": e}
            for d, s, e in spec.windows
        ],
    }


def _insert(rows_by_table: dict[Table, list[dict]]) -> None:
    """Bulk-insert rows (all rows of a table have the same keys), in the session's transaction.

    SQLite: Core executemany (the ORM's bulk path would split the rows into small groups by
    which columns are None, several times slower). PostgreSQL: COPY, since psycopg's
    executemany still sends one statement per row.
    """
    connection = db.session.connection()
    if (connection.dialect.name, connection.dialect.driver) != ("postgresql", "psycopg"):
        for table_, rows in rows_by_table.items():
            if rows:
                db.session.execute(insert(table_), rows)
        return
    from psycopg import sql

    with connection.connection.driver_connection.cursor() as cursor:
        for table_, rows in rows_by_table.items():
            if not rows:
                continue
            columns = list(rows[0])
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table_.name), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])


def _insert_users(rows: list[dict]) -> list[int]:
    """Insert user rows; their new ids, in order."""
    users_table = User.__table__
    if db.session.connection().dialect.name != "postgresql":
        returning = insert(users_table).returning(users_table.c.id, sort_by_parameter_order=True)
        return list(db.session.execute(returning, rows).scalars())
    # Ids from the table's own sequence (safe beside other writers), then COPY.
    ids = db.session.scalars(
        text(
            "SELECT nextval(pg_get_serial_sequence('user_account', 'id')) "
            "FROM generate_series(1, :n)"
        ),
        {"n": len(rows)},
    ).all()
    _insert({users_table: [{"id": i, **row} for i, row in zip(ids, rows, strict=True)]})
    return list(ids)


def add_profile(user_id: int, spec: ProfileSpec, onboarded: bool = True) -> None:
    """Write a complete profile for an existing member (in the caller's transaction)."""
    tags = ensure_tags([*spec.offers, *spec.seeks, *spec.interests])
    now = utcnow()
    _insert(profile_rows(user_id, spec, tags, now, now if onboarded else None, now))


def _default_password_hash() -> str:
    from peerhub.accounts.passwords import hash_password
    from peerhub.demo import DEMO_PASSWORD

    return hash_password(DEMO_PASSWORD)


def seed_members(
    count: int,
    seed: int = 1,
    password_hash: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Add `count` members with complete profiles (seed `seed`); returns how many were added.

    All share `password_hash` (the demo password when None): hashing is slow, so it is done
    once. Commits after each batch.
    """
    if count <= 0:
        return 0
    password_hash = password_hash or _default_password_hash()
    tags = ensure_tags(TAGS)
    db.session.commit()
    start_index = _next_index(seed)
    now = utcnow()
    minutes = timedelta(minutes=1)
    tables = [t for t in db.metadata.sorted_tables if t.name in _PROFILE_TABLES]

    for first in range(start_index, start_index + count, BATCH):
        members = [
            generate_member(seed, i) for i in range(first, min(first + BATCH, start_index + count))
        ]
        users, times = [], []
        for m in members:
            created = now - m.age_minutes * minutes
            verified = min(now, created + m.extra["verified_after"] * minutes)
            onboarded = min(now, verified + m.extra["onboarded_after"] * minutes)
            edited = min(now, onboarded + m.extra["edited_after"] * minutes)
            login = m.extra["login_before"]
            times.append((created, onboarded, edited))
            users.append(
                {
                    "email": m.email,
                    "display_name": m.display_name,
                    "password_hash": password_hash,
                    "language": m.language,
                    "timezone": m.timezone,
                    "role": "member",
                    "status": "active",
                    "session_token": new_session_token(),
                    "email_verified_at": verified,
                    "created_at": created,
                    "last_login_at": None
                    if login is None
                    else max(onboarded, now - login * minutes),
                    "password_changed_at": created,
                }
            )
        ids = _insert_users(users)
        batch: dict[Table, list[dict]] = {table_: [] for table_ in tables}
        for user_id, m, (created, onboarded, edited) in zip(ids, members, times, strict=True):
            for table_, rows in profile_rows(
                user_id, m.profile, tags, created, onboarded, edited
            ).items():
                batch[table_] += rows
        _insert(batch)
        db.session.commit()
        if progress is not None:
            progress(len(members))
    return count


def analyze() -> None:
    """Refresh the planner's statistics after a large load (the directory's plans need them)."""
    db.session.execute(text("ANALYZE"))
    db.session.commit()


@bp.cli.command("seed")
@click.option(
    "--members",
    "count",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="How many members to add.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same members.")
@click.option(
    "--password",
    default=None,
    help="Password of every seeded member [default: the demo password].",
)
def seed_command(count: int, seed: int, password: str | None) -> None:
    """Add N members with complete, varied profiles (development and benchmarks only)."""
    if current_app.config.get("PEERHUB_ENV") == "production":
        raise click.ClickException("Refusing to seed sample members in production.")
    from peerhub.accounts.passwords import hash_password

    started = time.perf_counter()
    password_hash = hash_password(password) if password else _default_password_hash()
    first = _next_index(seed)
    with click.progressbar(length=count, label="Seeding members", show_pos=True) as bar:
        added = seed_members(count, seed, password_hash, progress=bar.update)
    analyze()
    click.echo(
        f"Seeded {added} members (seed {seed}) in {time.perf_counter() - started:.1f} s: "
        f"{member_email(seed, first)} … {member_email(seed, first + added - 1)}"
        + ("" if password else " (password: the demo password)")
    )
