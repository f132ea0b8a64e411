"""Every visible string is in the German catalogue, translated, and the catalogue compiles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
GERMAN = ROOT / "peerhub" / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def test_german_catalogue_covers_every_string_in_the_source(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as handle:
        source = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with GERMAN.open("rb") as handle:
        german = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in german
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(source - translated)
    assert not missing, f"untranslated in German (run make i18n-update): {missing[:10]}"
    assert len(source) > 150


def test_placeholders_survive_translation():
    import re

    with GERMAN.open("rb") as handle:
        for message in read_po(handle):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
            for string in strings:
                assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, message.id
