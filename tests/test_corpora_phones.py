"""The phonemizer hook finds the G2P spec of a language under its ISO 639-3 code or its espeak-ng tag."""
from __future__ import annotations

import sys
import types

from fieldasr_examples.corpora.phones import g2p_phonemizer, spec_names


def fake_g2p(specs: list[str]) -> types.ModuleType:
    module = types.ModuleType("fieldasr.g2p")
    module.available_specs = lambda: specs
    module.load_spec = lambda name: f"spec:{name}"
    module.phonemize = lambda texts, spec: [(spec, *text.split()) for text in texts]
    return module


def test_spec_names_run_from_iso_code_to_two_letter_tag():
    assert spec_names("eng") == ["eng", "en-us", "en"]
    assert spec_names("nld") == ["nld", "nl"]
    assert spec_names("ain") == ["ain"]


def test_a_two_letter_spec_serves_the_iso_code(monkeypatch):
    monkeypatch.setitem(sys.modules, "fieldasr.g2p", fake_g2p(["en", "nl"]))
    assert g2p_phonemizer(["a b"], "eng") == [("spec:en", "a", "b")]
    assert g2p_phonemizer(["a"], "nld") == [("spec:nl", "a")]


def test_an_iso_named_spec_wins_over_the_tag(monkeypatch):
    monkeypatch.setitem(sys.modules, "fieldasr.g2p", fake_g2p(["nld", "nl"]))
    assert g2p_phonemizer(["x"], "nld") == [("spec:nld", "x")]


def test_no_spec_means_no_phones(monkeypatch):
    monkeypatch.setitem(sys.modules, "fieldasr.g2p", fake_g2p(["nl"]))
    assert g2p_phonemizer(["x"], "fin") is None


def test_without_the_g2p_module_there_are_no_phones(monkeypatch):
    monkeypatch.setitem(sys.modules, "fieldasr.g2p", None)  # makes the import fail
    assert g2p_phonemizer(["x"], "nld") is None
