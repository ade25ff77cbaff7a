"""Text-side transfer for each supported model family: GPT-2, XLM-R, Llama and Qwen2 (untied heads), BERT (WordPiece).

Each source is a tiny model of its family's exact config keys with a tokenizer of its family's type, saved as a hub
snapshot (tests/lm_checkpoints.py). The target tokenizer is trained like the source's on the target text; the
transferred model must load with the Auto classes, keep copied and special tokens' rows, follow the documented
output-layer rule (fieldasr/transfer/apply.py), run forward and train a few steps on the common Trainer.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer, OPTConfig

from fieldasr.transfer.errors import TokenizerMismatchError, UnsupportedModelError
from fieldasr.transfer.initialisers import COMBINED, COPIED
from fieldasr.transfer.pretrain import continue_lm_pretraining
from fieldasr.transfer.registry import make_initialiser
from fieldasr.transfer.target_model import initialise_target_model
from fieldasr.transfer.tokenizer import extend_tokenizer, make_target_tokenizer, train_tokenizer_like
from fieldasr.transfer.vocabulary import VocabularyPair, tokens_of
from fieldasr_examples.toy_corpus import parallel_sentences
from tests.lm_checkpoints import FAMILIES, kind_of, make_language_model

SPECIAL_ROLES = ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "mask_token_id", "cls_token_id",
                 "sep_token_id")


@pytest.fixture(scope="module")
def texts():
    torch.set_num_threads(1)
    return parallel_sentences(200)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def transferred(request, texts, tmp_path_factory):
    """Source model, target tokenizer (trained like the source's) and the transferred model, all saved."""
    family = request.param
    source_lines, target_lines = texts
    folder = tmp_path_factory.mktemp(family)
    source = make_language_model(folder / "source", family, source_lines, vocab_size=280)
    source_tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    make_target_tokenizer(target_lines, 300, "like-source", source_tokenizer).save_pretrained(folder / "target-tokenizer")
    result = initialise_target_model(source, folder / "target-tokenizer", folder / "transferred", "convex-hull",
                                     kind_of(family))
    return family, source, folder, result


def _auto(family: str):
    return AutoModelForCausalLM if kind_of(family) == "causal" else AutoModelForMaskedLM


def _overlap(source, target_tokenizer) -> dict[int, int]:
    source_tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    return VocabularyPair.of_tokenizers(source_tokenizer, target_tokenizer).overlap()


def test_transferred_model_and_tokenizer_load_with_the_auto_classes(transferred):
    family, source, folder, result = transferred
    model = _auto(family).from_pretrained(folder / "transferred", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder / "transferred", local_files_only=True)
    source_tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    assert type(tokenizer) is type(source_tokenizer)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    assert AutoConfig.from_pretrained(folder / "transferred").vocab_size == len(tokenizer)
    assert json.loads((folder / "transferred" / "transfer_report.json").read_text())["copied"] == result.report["copied"]
    assert result.report["combined"] > 0


def test_copied_and_special_tokens_keep_their_source_rows(transferred):
    family, source, folder, _ = transferred
    auto = _auto(family)
    source_model = auto.from_pretrained(source, local_files_only=True)
    model = auto.from_pretrained(folder / "transferred", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder / "transferred", local_files_only=True)
    overlap = _overlap(source, tokenizer)
    specials = {getattr(tokenizer, role) for role in SPECIAL_ROLES} - {None}
    assert specials and specials <= set(overlap)
    assert len(overlap) > len(specials)
    ids_target, ids_source = list(overlap), list(overlap.values())
    source_input = source_model.get_input_embeddings().weight.detach()
    torch.testing.assert_close(model.get_input_embeddings().weight.detach()[ids_target], source_input[ids_source])
    if not source_model.config.tie_word_embeddings:
        source_output = source_model.get_output_embeddings().weight.detach()
        torch.testing.assert_close(model.get_output_embeddings().weight.detach()[ids_target], source_output[ids_source])


def test_untied_output_rows_combine_the_source_output_rows_like_the_input_rows(transferred, texts):
    """The documented rule: the same initialiser (same seed) on the source output matrix, so a combined token's
    output row uses the source tokens and weights its input row used."""
    family, source, folder, _ = transferred
    source_model = _auto(family).from_pretrained(source, local_files_only=True)
    if source_model.config.tie_word_embeddings:
        model = _auto(family).from_pretrained(folder / "transferred", local_files_only=True)
        assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
        return
    tokenizer = AutoTokenizer.from_pretrained(folder / "transferred", local_files_only=True)
    source_tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    source_input = source_model.get_input_embeddings().weight.detach().numpy()
    source_output = source_model.get_output_embeddings().weight.detach().numpy()
    assert not np.allclose(source_input, source_output)
    pair = VocabularyPair.of_tokenizers(source_tokenizer, tokenizer)
    input_result = make_initialiser("convex-hull").initialise(pair, source_input)
    model = _auto(family).from_pretrained(folder / "transferred", local_files_only=True)
    output = model.get_output_embeddings().weight.detach().numpy()
    combined = [token for token, origin in enumerate(input_result.origin) if origin == COMBINED]
    assert combined
    for token in combined:
        source_ids, weights = input_result.combinations[token]
        np.testing.assert_allclose(output[token], weights @ source_output[source_ids], rtol=1e-4, atol=1e-6)


def test_mlm_decoder_bias_is_copied_for_shared_tokens_and_the_mean_for_new_ones(transferred):
    family, source, folder, _ = transferred
    if kind_of(family) != "masked":
        pytest.skip(f"{family} has no MLM decoder bias")
    source_bias = AutoModelForMaskedLM.from_pretrained(source).get_output_embeddings().bias.detach()
    model = AutoModelForMaskedLM.from_pretrained(folder / "transferred", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder / "transferred", local_files_only=True)
    bias = model.get_output_embeddings().bias.detach()
    assert bias.shape[0] == len(tokenizer)
    overlap = _overlap(source, tokenizer)
    torch.testing.assert_close(bias[list(overlap)], source_bias[list(overlap.values())])
    new = [token for token in range(len(tokenizer)) if token not in overlap]
    assert new
    torch.testing.assert_close(bias[new], torch.full((len(new),), float(source_bias.mean())))


def test_forward_pass_and_a_few_trainer_steps(transferred, texts, tmp_path):
    family, _, folder, _ = transferred
    _, target_lines = texts
    model = _auto(family).from_pretrained(folder / "transferred", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder / "transferred", local_files_only=True)
    encoded = tokenizer(target_lines[:2], return_tensors="pt", padding=True) if tokenizer.pad_token else \
        tokenizer(target_lines[:1], return_tensors="pt")
    assert torch.isfinite(model(**encoded).logits).all()
    summary = continue_lm_pretraining(folder / "transferred", folder / "transferred", target_lines[:24],
                                      tmp_path / "pretrained", kind=kind_of(family), max_steps=2, batch_size=4,
                                      lr=1e-3, progress_bar=False)
    assert summary.optimizer_steps == 2
    assert all(np.isfinite(summary.step_losses))
    assert _auto(family).from_pretrained(tmp_path / "pretrained", local_files_only=True) is not None


def test_an_unsupported_family_is_refused_by_name(tmp_path):
    OPTConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, ffn_dim=32, num_attention_heads=2,
              word_embed_proj_dim=16).save_pretrained(tmp_path / "opt")
    with pytest.raises(UnsupportedModelError, match=r"'opt'.*supports gpt2.*llama.*qwen2.*xlm-roberta.*bert"):
        initialise_target_model(tmp_path / "opt", tmp_path, tmp_path / "out", "mean")
    assert not (tmp_path / "out").exists()


def test_a_masked_family_asked_for_as_causal_names_the_kind_to_use(tmp_path, texts):
    source = make_language_model(tmp_path / "xlmr", "xlm-roberta", texts[0], vocab_size=120)
    with pytest.raises(UnsupportedModelError, match="use --kind masked"):
        initialise_target_model(source, source, tmp_path / "out", "mean", kind="causal")


def test_a_llama_tokenizer_is_retrained_one_word_at_a_time(tmp_path, texts):
    """Llama-2's pre-tokenizer keeps a line in one piece; trained on whole lines it would merge across words."""
    source = make_language_model(tmp_path / "llama", "llama", texts[0], vocab_size=300)
    tokenizer = train_tokenizer_like(AutoTokenizer.from_pretrained(source), texts[1], 400)
    assert len(tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str("a b")) == 1
    pieces = [token for token in tokens_of(tokenizer) if not token.startswith("<")]
    assert len(pieces) > 100
    assert not any("▁" in piece[1:] for piece in pieces)
    assert tokenizer.convert_tokens_to_string(tokenizer.tokenize(texts[1][0])).strip() == texts[1][0]


def test_a_wordpiece_tokenizer_is_extended_keeping_every_source_id(tmp_path, texts):
    source = AutoTokenizer.from_pretrained(make_language_model(tmp_path / "bert", "bert", texts[0], vocab_size=150))
    extended = extend_tokenizer(source, train_tokenizer_like(source, texts[1], 200))
    assert extended.added_tokens and all(token not in source.get_vocab() for token in extended.added_tokens)
    assert tokens_of(extended.tokenizer)[:len(source)] == tokens_of(source)
    assert any(token.startswith("##") for token in extended.added_tokens)


def test_extending_a_tokenizer_whose_special_tokens_follow_its_vocabulary_is_refused(tmp_path, texts):
    source = AutoTokenizer.from_pretrained(make_language_model(tmp_path / "qwen2", "qwen2", texts[0], vocab_size=280))
    with pytest.raises(TokenizerMismatchError, match="<\\|endoftext\\|>.*replace the vocabulary"):
        extend_tokenizer(source, train_tokenizer_like(source, texts[1], 300))


def test_special_tokens_of_another_spelling_are_matched_by_role(texts):
    """A BERT source ([CLS], [SEP], [PAD]) and a byte-level target (<s>, </s>, <pad>): the roles pair them up."""
    from fieldasr.transfer.tokenizer import train_target_tokenizer
    from tests.lm_checkpoints import bert_tokenizer

    source = bert_tokenizer(texts[0], 150)
    target = train_target_tokenizer(texts[1], 300)
    copies = VocabularyPair.of_tokenizers(source, target).overlap()
    assert copies[target.bos_token_id] == source.cls_token_id
    assert copies[target.eos_token_id] == source.sep_token_id
    assert copies[target.pad_token_id] == source.pad_token_id
    assert copies[target.mask_token_id] == source.mask_token_id
    origin = make_initialiser("mean").initialise(VocabularyPair.of_tokenizers(source, target),
                                                  np.ones((len(source), 4), dtype=np.float32)).origin
    assert origin[target.pad_token_id] == COPIED


def test_cli_trains_a_like_source_tokenizer_and_transfers_a_llama(tmp_path, texts):
    from click.testing import CliRunner

    from fieldasr.cli import cli

    source = make_language_model(tmp_path / "llama", "llama", texts[0], vocab_size=300)
    (tmp_path / "target.txt").write_text("\n".join(texts[1]), encoding="utf-8")
    runner = CliRunner()
    missing = runner.invoke(cli, ["transfer", "tokenizer", str(tmp_path / "target.txt"), str(tmp_path / "tok"),
                                  "--style", "like-source"])
    assert missing.exit_code == 2 and "--source" in missing.output
    made = runner.invoke(cli, ["transfer", "tokenizer", str(tmp_path / "target.txt"), str(tmp_path / "tok"),
                               "--vocab-size", "350", "--style", "like-source", "--source", str(source)])
    assert made.exit_code == 0, made.output
    assert type(AutoTokenizer.from_pretrained(tmp_path / "tok")).__name__ == "LlamaTokenizer"
    wrong = runner.invoke(cli, ["transfer", "init", str(source), str(tmp_path / "tok"), str(tmp_path / "out"),
                                "--method", "mean", "--kind", "masked"])
    assert wrong.exit_code != 0 and "use --kind causal" in str(wrong.exception or wrong.output)
    done = runner.invoke(cli, ["transfer", "init", str(source), str(tmp_path / "tok"), str(tmp_path / "out"),
                               "--method", "mean"])
    assert done.exit_code == 0, done.output
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "out").config.vocab_size == len(
        AutoTokenizer.from_pretrained(tmp_path / "tok"))
