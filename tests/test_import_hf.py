"""`fieldasr import-hf`: a Hugging Face CTC checkpoint becomes a bundle that transcribes as the checkpoint itself
does (greedy argmax), with its pad token mapped explicitly onto fieldasr's blank at index 0."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from conftest import speak
from hf_checkpoints import hf_inputs, make_checkpoint

from fieldasr.audio import load_audio
from fieldasr.bundle import load_bundle
from fieldasr.decode import greedy_decode
from fieldasr.hf_bundle import import_hf
from fieldasr.models.hf_encoder import EncoderCheckpointError
from fieldasr.transcribe.bundle_model import BundleAcousticModel

torch.set_num_threads(1)
PHONES = ["ə", "t͡ʃ", "tʃ", "g", "aɪ", "a", "ɛ", "n", "s", "k", "i", "u", "m", "l", "ŋ", "ʃ", "d", "o", "e", "p", "b", "r"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return speak("the river runs past the old house", tmp_path_factory.mktemp("speech") / "river.wav")


def hf_greedy(model: torch.nn.Module, folder: Path, wave: np.ndarray, vocabulary: dict[str, int], pad: int) -> list[str]:
    """The checkpoint's own transcription: argmax per frame, repeats merged, pad (its blank) dropped."""
    names = {index: token for token, index in vocabulary.items()}
    inputs = hf_inputs(folder, [wave])
    with torch.no_grad():
        best = model(**inputs).logits[0].argmax(-1).tolist()
    if "input_features" in inputs:  # w2v-BERT's extractor pads the filterbank frames to an even count; not speech
        best = best[: int(inputs["attention_mask"].sum())]
    merged = [index for position, index in enumerate(best) if position == 0 or index != best[position - 1]]
    return [names[index] for index in merged if index != pad]


def our_greedy(bundle_dir: Path, wave: np.ndarray, mapping) -> list[str]:
    """The bundle's greedy output, in the checkpoint's own token names."""
    model = BundleAcousticModel(load_bundle(bundle_dir))
    log_probs, frames = model.log_probs(torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
    result = greedy_decode(log_probs, model.vocabulary, frames)[0]
    back = dict(zip(mapping.tokens, mapping.hf_tokens))
    return [back[token] for token in result.tokens]


@pytest.mark.parametrize("family", ["xlsr", "hubert", "wavlm", "data2vec-audio", "w2v-bert"])
def test_zero_shot_transcription_matches_the_checkpoints_own_greedy_output(family, speech, tmp_path):
    pad_index = 3  # not 0: the blank must move to index 0, the other rows keep their order
    folder = make_checkpoint(tmp_path / "hf", family, seed=7, pad_index=pad_index,
                             model_class="Wav2Vec2ForCTC" if family == "xlsr" else None)
    summary = import_hf(folder, tmp_path / "bundle")
    vocabulary = json.loads((folder / "vocab.json").read_text())
    assert summary.mapping.hf_ids[0] == pad_index and summary.mapping.tokens[0] == "<blank>"
    assert list(summary.mapping.hf_ids[1:]) == [index for index in range(len(vocabulary)) if index != pad_index]
    assert "|" in summary.mapping.tokens and load_bundle(tmp_path / "bundle").vocabulary.tokens == summary.mapping.tokens
    wave = load_audio(speech)
    expected = hf_greedy(transformers.AutoModelForCTC.from_pretrained(str(folder)).eval(), folder, wave, vocabulary, pad_index)
    assert len(expected) >= 3  # a random head still says something, so the comparison has content
    assert our_greedy(tmp_path / "bundle", wave, summary.mapping) == expected


def test_mms_uses_the_target_languages_adapter_and_vocabulary(speech, tmp_path):
    folder = make_checkpoint(tmp_path / "mms", "mms", seed=3)
    wave = load_audio(speech)
    outputs = {}
    for language in ("eng", "fra"):
        summary = import_hf(folder, tmp_path / language, target_language=language)
        vocabulary = json.loads((folder / "vocab.json").read_text())[language]
        reference = transformers.Wav2Vec2ForCTC.from_pretrained(str(folder), target_lang=language, ignore_mismatched_sizes=True).eval()
        expected = hf_greedy(reference, folder, wave, vocabulary, vocabulary["<pad>"])
        outputs[language] = our_greedy(tmp_path / language, wave, summary.mapping)
        assert outputs[language] == expected and len(summary.mapping.tokens) == len(vocabulary)
        assert json.loads((tmp_path / language / "bundle.json").read_text())["language"] == language
    assert outputs["eng"] != outputs["fra"]


def test_phone_checkpoint_tokens_are_spelled_as_fieldasr_phones(speech, tmp_path):
    # Like wav2vec2-xlsr-53-espeak-cv-ft: IPA tokens, no word delimiter.
    folder = make_checkpoint(tmp_path / "espeak", "xlsr", seed=5, tokens=["<s>", "</s>", "<unk>", *PHONES],
                             model_class="Wav2Vec2ForCTC")
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("gas ɡ a s\nchin t͡ʃ i n\nnice n aɪ s\n", encoding="utf-8")
    summary = import_hf(folder, tmp_path / "bundle", label_unit="phones", lexicon=lexicon)
    renamed = summary.mapping.renamed()
    assert renamed["g"] == "ɡ" and "t͡ʃ" not in renamed  # ASCII g is IPA ɡ; a tied affricate is already one phone
    assert set(summary.unsplit_phone_tokens) == {"aɪ", "tʃ"}  # two phones for fieldasr's G2P: kept whole, reported
    description = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert description["label_unit"] == "phones" and description["lexicon_check"]["bad_lines"] == 0
    assert description["lexicon_check"]["entries"] == 3  # every word spelled with the model's (re-spelled) phones
    wave = load_audio(speech)
    vocabulary = json.loads((folder / "vocab.json").read_text())
    expected = hf_greedy(transformers.AutoModelForCTC.from_pretrained(str(folder)).eval(), folder, wave, vocabulary, vocabulary["<pad>"])
    assert our_greedy(tmp_path / "bundle", wave, summary.mapping) == expected
    # Phone → word: the added boundary (scored as the blank) lets the lexicon beam search put words into the phones.
    assert summary.added_word_boundary and load_bundle(tmp_path / "bundle").vocabulary.tokens[-1] == "|"
    pytest.importorskip("flashlight.lib.text")
    from fieldasr.transcribe.bundle_model import beam_decoder_for
    from fieldasr.transcribe.engine import TranscribeOptions

    bundle = load_bundle(tmp_path / "bundle")
    decoder = beam_decoder_for(bundle, TranscribeOptions(decoder="beam"), lm_weight=0.0, word_score=5.0, beam_size=20)
    log_probs, frames = BundleAcousticModel(bundle).log_probs(torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
    words = decoder.decode(log_probs, frames)[0][0].words
    assert len(words) >= 2 and set(words) <= {"gas", "chin", "nice"}


def test_refusals_name_the_problem(tmp_path):
    pretraining = make_checkpoint(tmp_path / "pretraining", "xlsr")
    with pytest.raises(EncoderCheckpointError, match=r"not a CTC model"):
        import_hf(pretraining, tmp_path / "out")
    ctc = make_checkpoint(tmp_path / "ctc", "hubert")
    (ctc / "vocab.json").unlink()
    with pytest.raises(EncoderCheckpointError, match=r"no vocab.json"):
        import_hf(ctc, tmp_path / "out")
    mms = make_checkpoint(tmp_path / "mms", "mms")
    with pytest.raises(EncoderCheckpointError, match=r"no adapter for --target-lang 'deu'.*eng, fra"):
        import_hf(mms, tmp_path / "out", target_language="deu")
    with pytest.raises(EncoderCheckpointError, match=r"no --target-lang given.*eng, fra"):
        import_hf(mms, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_import_hf_then_transcribe_on_the_command_line(speech, tmp_path):
    from click.testing import CliRunner

    from fieldasr.cli import cli

    folder = make_checkpoint(tmp_path / "hf", "wavlm", seed=2)
    runner = CliRunner()
    imported = runner.invoke(cli, ["import-hf", str(folder), "--out", str(tmp_path / "bundle")])
    assert imported.exit_code == 0, imported.output
    assert "<blank> at index 0" in imported.output
    done = runner.invoke(cli, ["transcribe", str(tmp_path / "bundle"), str(speech), "--format", "json", "--out-dir", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert list((tmp_path / "out").glob("*.json"))
