"""N-best rescoring in transcription: a transferred LM overturns a near-tie of the acoustic model, through the CLI too.

The stand-in acoustic model spells one word per speech segment: clear 'a' frames, then frames where 'c' is only
slightly likelier than 'b'. The lexicon knows "ab" and "ac"; the LM has only ever seen "ab".
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from test_transcribe import FRAME, recording_with_pauses
from transformers import GPT2Config, GPT2LMHeadModel

import fieldasr.bundle
import fieldasr.transcribe.bundle_model
from fieldasr.cli import cli
from fieldasr.decode import BeamDecoder
from fieldasr.text.vocabulary import Vocabulary
from fieldasr.transcribe import Transcriber, TranscribeOptions, TranscriptionError
from fieldasr.transfer.pretrain import continue_lm_pretraining
from fieldasr.transfer.rescore import NbestRescorer
from fieldasr.transfer.tokenizer import train_target_tokenizer

LEXICON = {"ab": ["a", "b"], "ac": ["a", "c"]}


class NearTieModel:
    vocabulary = Vocabulary(("<blank>", "<unk>", "|", "a", "b", "c"))
    unit = "characters"

    def language_for_audio(self) -> None:  # a model without per-language adapters
        return None

    def log_probs(self, waveforms: torch.Tensor, lengths: torch.Tensor):
        frames = waveforms.shape[1] // FRAME
        logits = torch.full((len(waveforms), frames, 6), -8.0)
        for row, length in enumerate((lengths // FRAME).tolist()):
            first, second = int(length * 0.4), int(length * 0.8)
            logits[row, :first, 3] = 4.0
            logits[row, first:second, 5] = 4.0
            logits[row, first:second, 4] = 3.97  # 'b' almost as likely as 'c'
            logits[row, second:, 0] = 4.0
        return logits.log_softmax(-1), lengths // FRAME


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return recording_with_pauses(tmp_path_factory.mktemp("near_tie"), "two", ["good morning", "the river runs"])


@pytest.fixture(scope="module")
def language_model(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("lm") / "ab_lm"
    lines = ["ab"] * 40 + ["ab ab"] * 20
    tokenizer = train_target_tokenizer(lines + ["ac"], 270)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2, n_positions=32))
    continue_lm_pretraining(model, tokenizer, lines, folder, max_steps=30, lr=5e-3, batch_size=16, progress_bar=False)
    return folder


def transcribe(recording: Path, rescorer=None) -> list[str]:
    options = TranscribeOptions(decoder="beam", word_timestamps=True)
    decoder = BeamDecoder(NearTieModel.vocabulary, lexicon=LEXICON, beam_size=10)
    transcript = Transcriber(NearTieModel(), options, decoder, rescorer).transcribe(recording)
    return [segment.text for segment in transcript.segments]


def test_rescoring_picks_the_word_the_language_model_knows(recording, language_model):
    assert transcribe(recording) == ["ac", "ac"]
    assert transcribe(recording, NbestRescorer(language_model, weight=0.0, nbest=5)) == ["ac", "ac"]
    assert transcribe(recording, NbestRescorer(language_model, weight=1.0, nbest=5)) == ["ab", "ab"]


def test_rescoring_without_beam_search_is_refused(language_model):
    with pytest.raises(TranscriptionError, match="--decoder beam"):
        Transcriber(NearTieModel(), TranscribeOptions(decoder="greedy"), None, NbestRescorer(language_model, 1.0))


def test_transcribe_cli_rescores_with_the_given_lm(recording, language_model, tmp_path, monkeypatch):
    monkeypatch.setattr(fieldasr.bundle, "load_bundle", lambda directory, device="cpu": None)
    monkeypatch.setattr(fieldasr.transcribe.bundle_model, "BundleAcousticModel", lambda bundle, precision, language: NearTieModel())
    monkeypatch.setattr(fieldasr.transcribe.bundle_model, "beam_decoder_for",
                        lambda bundle, options, lm_weight, word_score, beam_size:
                        BeamDecoder(NearTieModel.vocabulary, lexicon=LEXICON, beam_size=beam_size))
    arguments = ["transcribe", str(tmp_path), str(recording), "--format", "txt", "--decoder", "beam", "--beam-size", "10"]
    texts = {}
    for name, extra in {"plain": [], "rescored": ["--rescore-lm", str(language_model), "--rescore-weight", "1.0"]}.items():
        (tmp_path / name).mkdir()
        result = CliRunner().invoke(cli, [*arguments, "--out-dir", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
        texts[name] = (tmp_path / name / "two.txt").read_text(encoding="utf-8").split()
    assert texts == {"plain": ["ac", "ac"], "rescored": ["ab", "ab"]}
