"""Loading specs: by name or path, and errors that say what to fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from fieldasr.g2p import SpecError, load_spec
from fieldasr.g2p.spec import available_specs, spec_folder


def test_specs_load_by_language_code_and_by_path() -> None:
    by_name = load_spec("mi")
    by_path = load_spec(spec_folder() / "mi.yaml")
    assert by_name == by_path
    assert by_name.rules_path is not None and by_name.rules_path.is_file()


def test_every_shipped_spec_loads_and_has_examples() -> None:
    names = available_specs()
    assert len(names) >= 12
    for name in names:
        assert load_spec(name).examples, name


def test_missing_spec_lists_the_available_ones() -> None:
    with pytest.raises(SpecError, match=r"not found.*Available: .*mi"):
        load_spec("klingon")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("language: xx\nbackend: espeak\n", r"needs `voice:`"),
        ("language: xx\nbackend: festival\n", r"unknown backend"),
        ("language: xx\nbackend: rules\nrules: x.rules\nbakend: 1\n", r"unknown key\(s\) \['bakend'\]"),
        ("language: xx\nbackend: rules\nrules: x.rules\nipa: {strip_stres: true}\n", r"strip_stres"),
        ("backend: espeak\n", r"`language` and `backend` are required"),
        ("- a\n- b\n", r"must be a YAML mapping"),
        ("language: [\n", r"not valid YAML"),
    ],
)
def test_malformed_specs_are_explained(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=reason):
        load_spec(path)


def test_chain_spec_resolves_files_next_to_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nbackend: [lexicon, rules]\nlexicon: words.txt\nrules: xx.rules\n", encoding="utf-8")
    spec = load_spec(path)
    assert spec.backends == ("lexicon", "rules")
    assert spec.lexicon_path == tmp_path / "words.txt" and spec.rules_path == tmp_path / "xx.rules"
