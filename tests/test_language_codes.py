"""ISO 639-1, 639-3 and 639-2/B codes of one language are the same language, for g2p and for recipes."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldasr.cli import cli
from fieldasr.data import Corpus, Recording, Segment, write_manifest
from fieldasr.iso639_codes import TO_ISO_639_3
from fieldasr.language_codes import in_languages, iso_639_3, same_language
from fieldasr.train.data import load_corpus

ROOT = Path(__file__).resolve().parent.parent
ISO_CODES = Path("/usr/share/iso-codes/json")


def test_codes_of_one_language_are_the_same_language() -> None:
    assert iso_639_3("cs") == iso_639_3("CS") == iso_639_3("cze") == iso_639_3("ces") == "ces"
    assert same_language("mi", "mri") and same_language("sw", "swa") and same_language("de", "ger")
    assert not same_language("cs", "sk") and not same_language("zh-Hans", "zh-Hant")
    assert iso_639_3("ain") == "ain" and iso_639_3("und") == "und"  # no two-letter code: itself
    assert in_languages("ces", ["cs"]) and not in_languages(None, ["cs"]) and not in_languages("slk", ["cs", "pl"])


@pytest.mark.skipif(not ISO_CODES.is_dir(), reason="Debian's iso-codes is not installed")
def test_the_table_is_what_the_generator_makes_from_iso_codes() -> None:
    spec = importlib.util.spec_from_file_location("generate_language_codes", ROOT / "tools/generate_language_codes.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)  # type: ignore[union-attr]
    assert TO_ISO_639_3 == generator.aliases(ISO_CODES)
    three_letter = {entry["alpha_3"] for entry in json.loads((ISO_CODES / "iso_639-3.json").read_text())["639-3"]}
    assert len(TO_ISO_639_3) > 180 and set(TO_ISO_639_3.values()) <= three_letter


def test_g2p_does_not_count_another_code_of_its_language_as_another_language(tmp_path: Path) -> None:
    source = tmp_path / "segments.jsonl"
    write_manifest(source, [Segment("s1", "r1", 0.0, 1.0, text="kia ora", language="mri"),  # the spec says mi
                            Segment("s2", "r1", 1.0, 1.0, text="ora", language="MI"),
                            Segment("s3", "r1", 2.0, 1.0, text="whānau", language="en")])
    result = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--manifest", str(source), "--out", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "1 are labelled with another language than 'mi'" in result.output
    write_manifest(source, [Segment("s1", "r1", 0.0, 1.0, text="kia ora", language="mri")])
    again = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--manifest", str(source), "--out", str(tmp_path / "out.jsonl")])
    assert again.exit_code == 0 and "another language" not in again.output


def test_a_recipe_selects_languages_by_either_code(tmp_path: Path, spoken_wav: Path) -> None:
    recording = Recording.from_audio("r1", spoken_wav)
    segments = (Segment("a", "r1", 0.0, 1.0, text="x", language="ces", phones=("x",)),
                Segment("b", "r1", 1.0, 1.0, text="y", language="sk", phones=("y",)))
    Corpus({"r1": recording}, segments).save(tmp_path / "data")
    assert [segment.id for segment in load_corpus(tmp_path / "data", ["cs"], "phones").segments] == ["a"]
    assert [segment.id for segment in load_corpus(tmp_path / "data", ["slk", "cze"], "phones").segments] == ["a", "b"]
