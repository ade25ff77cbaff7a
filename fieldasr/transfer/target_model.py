"""A source language model given a target tokenizer's vocabulary: resources for the method, embeddings
transferred, the model and tokenizer saved with a report (`fieldasr transfer init`, the LM-transfer recipe)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldasr.files import atomic_write_text


@dataclass(frozen=True)
class TransferredLanguageModel:
    """The source model with the target vocabulary, and what the transfer did (method, tokens per origin,
    and for dictionary methods how many pairs the static word vectors and the two tokenizers have)."""

    model: Any
    report: Mapping[str, Any]


def transfer_language_model(source_model: str | Path, target_tokenizer: Any, method: str, kind: str,
                            source_lines: list[str] | None = None, target_lines: list[str] | None = None,
                            dictionary: list[tuple[str, str]] | None = None, helper_embeddings: Any = None,
                            min_count: int | None = None, dim: int = 100, seed: int = 0) -> TransferredLanguageModel:
    """Load the local `source_model` (with its tokenizer) and initialise its embeddings for `target_tokenizer` by `method`.

    The model's family must be one of `families.FAMILIES` and `kind` its pretraining objective (checked before
    any text is read or any embedding trained)."""
    from transformers import AutoTokenizer

    from fieldasr.transfer.apply import transfer_model_embeddings
    from fieldasr.transfer.dictionary import dictionary_coverage
    from fieldasr.transfer.families import check_source_model
    from fieldasr.transfer.lm_task import load_language_model
    from fieldasr.transfer.registry import build_resources, make_initialiser
    from fieldasr.transfer.vocabulary import VocabularyPair, tokens_of

    check_source_model(source_model, kind)
    resources = build_resources(method, target_tokenizer, source_lines, target_lines, dictionary, helper_embeddings,
                                min_count=min_count, dim=dim, seed=seed)
    model = load_language_model(source_model, kind)
    source_tokenizer = AutoTokenizer.from_pretrained(source_model, local_files_only=True)
    result = transfer_model_embeddings(model, source_tokenizer, target_tokenizer, make_initialiser(method, seed=seed, **resources))
    report = {"method": method, **result.summary()}
    alignment = resources.get("alignment")
    if alignment is not None:
        report.update(dictionary_pairs_used=alignment.pairs_used, dictionary_missing_source=alignment.missing_source,
                      dictionary_missing_target=alignment.missing_target, dictionary_missing_both=alignment.missing_both,
                      alignment_ill_posed=alignment.ill_posed)
    if resources.get("dictionary"):
        vocabularies = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer))
        report.update(dictionary_coverage(vocabularies, resources["dictionary"]))
    return TransferredLanguageModel(model, report)


def initialise_target_model(source_model: str | Path, target_tokenizer_dir: str | Path, output: str | Path, method: str,
                            kind: str = "causal", source_text: str | None = None, target_text: str | None = None,
                            dictionary: str | None = None, helper_model: str | None = None, min_count: int | None = None,
                            dim: int = 100, seed: int = 0) -> TransferredLanguageModel:
    """`transfer_language_model` from files and folders; the model, the target tokenizer and
    transfer_report.json are saved to `output`."""
    from transformers import AutoModel, AutoTokenizer

    from fieldasr.transfer.dictionary import read_bilingual_dictionary
    from fieldasr.transfer.families import check_source_model
    from fieldasr.transfer.tokenizer import read_target_text

    check_source_model(source_model, kind)  # before any tokenizer or text is read
    target = AutoTokenizer.from_pretrained(target_tokenizer_dir, local_files_only=True)
    helper = None
    if helper_model:
        helper = AutoModel.from_pretrained(helper_model, local_files_only=True).get_input_embeddings().weight.detach().numpy()
    transferred = transfer_language_model(
        source_model, target, method, kind, read_target_text(source_text) if source_text else None,
        read_target_text(target_text) if target_text else None,
        read_bilingual_dictionary(dictionary) if dictionary else None, helper, min_count=min_count, dim=dim, seed=seed)
    transferred.model.save_pretrained(output)
    target.save_pretrained(output)
    atomic_write_text(Path(output) / "transfer_report.json", json.dumps(transferred.report, indent=1, ensure_ascii=False))
    return transferred
