"""Bundles: export → load gives the same logits; self-contained (G2P rules, lexicons, LM travel inside); every
file verified by size and sha256; damaged bundles and bad lexicon lines reported by name."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from fieldasr.bundle import BundleError, export_bundle, file_checksum, load_bundle
from fieldasr.g2p import get_g2p, load_spec
from fieldasr.models import TINY_CONFORMER, TINY_WAV2VEC2, ConformerCTC, ModelMismatchError, Wav2Vec2CTC
from fieldasr.text import Vocabulary

torch.set_num_threads(1)
VOCABULARY = Vocabulary(("<blank>", "<unk>", "a", "b", "|"))
MAORI = Vocabulary(tuple("<blank> <unk> | a e i o u aː f h k m n p t w ŋ ɾ".split()))


def rewrite_checksums(bundle_dir: Path) -> None:
    """Record the files' current checksums, as if the bundle had been exported with them."""
    description = json.loads((bundle_dir / "bundle.json").read_text())
    description["checksums"] = {name: vars(file_checksum(bundle_dir / name)) for name in description["checksums"]}
    (bundle_dir / "bundle.json").write_text(json.dumps(description))


def maori_sources(folder: Path) -> dict[str, Path]:
    """A Māori rules spec whose own lexicon overrides one word, a decoding lexicon with bad lines, an LM."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(load_spec("mi").rules_path, folder / "maori.rules")
    (folder / "words.txt").write_text("kia\tk i a\n", encoding="utf-8")
    (folder / "mi.yaml").write_text("language: mi\nbackend: [lexicon, rules]\nrules: maori.rules\nlexicon: words.txt\n", encoding="utf-8")
    (folder / "lexicon.txt").write_bytes(
        "kia\tk i a\n;; comment\nora\to ɾ a |\nwhānau\n\nkia ora\tk i a | o ɾ a\nxena\tx e n a\ntapu\t\n".encode() + b"caf\xe9\tk a f e\n")
    (folder / "lm.arpa").write_text("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\tkia\n\n\\end\\\n", encoding="utf-8")
    return {"g2p_spec": folder / "mi.yaml", "lexicon": folder / "lexicon.txt", "language_model": folder / "lm.arpa"}


@pytest.fixture
def maori_bundle(tmp_path) -> Path:
    model = ConformerCTC(TINY_CONFORMER, len(MAORI))
    return export_bundle(tmp_path / "bundle", model, MAORI, language="mi", **maori_sources(tmp_path / "sources"))


@pytest.mark.parametrize("make_model", [
    lambda: Wav2Vec2CTC(TINY_WAV2VEC2, len(VOCABULARY), adapter_languages=["en", "de"]),
    lambda: ConformerCTC(TINY_CONFORMER, len(VOCABULARY)),
])
def test_export_then_load_gives_same_logits(tmp_path, make_model):
    model = make_model().eval()
    for parameter in model.parameters():  # adapters start as identity; make them matter
        torch.nn.init.normal_(parameter, std=0.05) if parameter.dim() > 1 else None
    bundle_dir = export_bundle(tmp_path / "bundle", model, VOCABULARY, language="xx", normaliser="nfc+lowercase")
    bundle = load_bundle(bundle_dir)
    waveforms, lengths = torch.randn(2, 8000), torch.tensor([8000, 6000])
    languages = ["en", "de"] if isinstance(model, Wav2Vec2CTC) else None
    with torch.no_grad():
        expected, expected_frames = model(waveforms, lengths, languages)
        logits, frames = bundle.model(waveforms, lengths, languages)
    torch.testing.assert_close(logits, expected)
    assert frames.tolist() == expected_frames.tolist()
    assert bundle.vocabulary == VOCABULARY and bundle.language == "xx"
    # The bundle records the normaliser's full settings, and decoding reads them back.
    assert bundle.normaliser == {"steps": ["nfc", "lowercase", "whitespace"], "apostrophe": "'", "keep": "", "replace": []}
    assert bundle.text_normaliser()("Ka'a  TIKA") == "ka'a tika"
    assert bundle.lexicon is None and bundle.g2p_spec is None


def test_bundle_works_after_the_originals_are_gone(maori_bundle, tmp_path):
    shutil.rmtree(tmp_path / "sources")
    moved = Path(shutil.move(maori_bundle, tmp_path / "elsewhere" / "bundle"))
    bundle = load_bundle(moved)
    spec = load_spec(bundle.g2p_spec)
    assert spec.rules_path == moved / "g2p.rules" and spec.lexicon_path == moved / "g2p-lexicon.txt"
    assert get_g2p(spec).phonemize(["kia whānau"]).phones == (("k", "i", "a", "f", "aː", "n", "a", "u"),)
    assert bundle.language_model.read_text().startswith("\\data\\")
    assert bundle.lexicon.read_text(encoding="utf-8") == "kia\tk i a\nora\to ɾ a\n"


def test_bad_lexicon_lines_are_left_out_counted_and_recorded(maori_bundle):
    record = json.loads((maori_bundle / "bundle.json").read_text())["lexicon_check"]
    assert (record["entries"], record["bad_lines"], record["trailing_boundaries_removed"]) == (2, 5, 1)
    reasons = "\n".join(record["first_bad_lines"])
    assert "line 4: 'whānau': one field only" in reasons
    assert "line 6: 'kia ora\\tk i a | o ɾ a': the word boundary | inside the pronunciation" in reasons
    assert "line 7: 'xena\\tx e n a': x not in the model's vocabulary" in reasons
    assert "line 8: 'tapu\\t': empty pronunciation" in reasons
    assert "line 9: 'caf�\\tk a f e': not UTF-8 (byte 0xe9)" in reasons


def test_strict_refuses_bad_lexicon_lines_before_writing(tmp_path):
    sources = maori_sources(tmp_path / "sources")
    with pytest.raises(BundleError, match=r"lexicon.txt: 5 bad lines: line 4: 'whānau'.*without --strict"):
        export_bundle(tmp_path / "bundle", ConformerCTC(TINY_CONFORMER, len(MAORI)), MAORI, strict=True, **sources)
    assert not (tmp_path / "bundle").exists()


def test_damaged_bundles_name_the_file_and_the_fix(maori_bundle):
    weights = maori_bundle / "model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:1234])
    with pytest.raises(BundleError, match=rf"model.safetensors is truncated: 1,234 of {len(original):,} bytes.*--overwrite"):
        load_bundle(maori_bundle)
    weights.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(BundleError, match="model.safetensors has changed since export"):
        load_bundle(maori_bundle)
    weights.write_bytes(b"not safetensors at all")
    rewrite_checksums(maori_bundle)
    with pytest.raises(BundleError, match="cannot be read as safetensors"):
        load_bundle(maori_bundle)
    weights.unlink()
    with pytest.raises(BundleError, match="model.safetensors is missing"):
        load_bundle(maori_bundle)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"), ('{"format": 2}', "lacks architecture, model_config"), ("[1, 2]", "expected a JSON object"),
    ('{"format": 7, "architecture": 1, "model_config": {}, "label_unit": 1, "sampling_rate": 1, "files": {}}', "format 7"),
])
def test_malformed_bundle_json_is_a_bundle_error(maori_bundle, content, message):
    (maori_bundle / "bundle.json").write_text(content)
    with pytest.raises(BundleError, match=message):
        load_bundle(maori_bundle)


def test_format_1_bundles_without_checksums_still_load(maori_bundle):
    description = json.loads((maori_bundle / "bundle.json").read_text())
    description["format"] = 1
    del description["checksums"]
    (maori_bundle / "bundle.json").write_text(json.dumps(description))
    assert load_bundle(maori_bundle).language == "mi"


def test_refuses_to_overwrite_and_reports_mismatched_weights(tmp_path):
    model = ConformerCTC(TINY_CONFORMER, len(VOCABULARY))
    bundle_dir = export_bundle(tmp_path / "bundle", model, VOCABULARY)
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(bundle_dir, model, VOCABULARY)
    other = ConformerCTC(TINY_CONFORMER, len(VOCABULARY) + 3)  # another vocabulary size
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(bundle_dir / "model.safetensors"))
    rewrite_checksums(bundle_dir)
    with pytest.raises(ModelMismatchError, match=r"different shape \(2\): head.bias: file \(8,\) vs model \(5,\)"):
        load_bundle(bundle_dir)
    description = json.loads((bundle_dir / "bundle.json").read_text())
    description["architecture"] = "wav2vec2_ctc"
    description["model_config"] = Wav2Vec2CTC(TINY_WAV2VEC2, len(VOCABULARY)).model_config()
    (bundle_dir / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(ModelMismatchError, match="missing"):
        load_bundle(bundle_dir)


def test_overwrite_replaces_a_bundle_and_a_failed_export_keeps_the_old_one(maori_bundle, tmp_path, monkeypatch):
    import fieldasr.bundle

    before = (maori_bundle / "bundle.json").read_bytes()
    monkeypatch.setattr(fieldasr.bundle, "save_file", lambda *args, **kwargs: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        export_bundle(maori_bundle, ConformerCTC(TINY_CONFORMER, len(MAORI)), MAORI, overwrite=True)
    assert (maori_bundle / "bundle.json").read_bytes() == before and load_bundle(maori_bundle).language == "mi"
    assert sorted(path.name for path in maori_bundle.parent.iterdir()) == ["bundle", "sources"]


def test_a_letter_to_sound_table_must_be_converted_before_export(tmp_path):
    table = Path(__file__).parent / "fixtures" / "abui_letter_to_sound.txt"
    with pytest.raises(BundleError, match="g2p-import-table"):
        export_bundle(tmp_path / "bundle", ConformerCTC(TINY_CONFORMER, len(VOCABULARY)), VOCABULARY, g2p_spec=table)
    assert not (tmp_path / "bundle").exists()
