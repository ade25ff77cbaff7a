"""A published Hugging Face CTC checkpoint (…ForCTC with vocab.json) as a fieldasr bundle, for zero-shot transcription.

The encoder is read by `fieldasr.models.hf_encoder` (family checked, its input policy kept), the pretrained output
layer is kept, and the vocabulary is made fieldasr's: Hugging Face CTC uses the pad token as the blank, wherever
vocab.json puts it, while fieldasr's blank is index 0. So the output rows are reordered: the pad's row first
(renamed `<blank>`), then every other id in vocab.json's order; the word delimiter becomes `|`. For an MMS
checkpoint (`adapter_attn_dim`, vocab.json keyed by language) `target_language` picks the adapter file
`adapter.<lang>.safetensors`, which holds the encoder's adapter weights and that language's output layer.
A phone checkpoint (e.g. wav2vec2-xlsr-53-espeak-cv-ft) with `label_unit="phones"` has its IPA tokens spelled
as fieldasr's G2P spells phones (panphon segmentation, `fieldasr.g2p.segment`), so lexicons and phone → word
decoding built with fieldasr's G2P match its output; one without a word delimiter gets a `|` output scored as
its blank (`with_boundary_like_blank`), which lexicon decoding needs between words.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fieldasr.bundle import export_bundle
from fieldasr.models.hf_encoder import EncoderCheckpoint, EncoderCheckpointError, load_ctc_model, read_checkpoint, require_ctc
from fieldasr.models.mms import available_adapters
from fieldasr.models.wav2vec2 import Wav2Vec2CTC
from fieldasr.text.vocabulary import BLANK, UNKNOWN, WORD_BOUNDARY, Vocabulary

LABEL_UNITS = ("characters", "phones")


@dataclass(frozen=True)
class TokenMapping:
    """Output row `index` of the bundle is row `hf_ids[index]` of the checkpoint's head, named `tokens[index]`."""

    hf_ids: tuple[int, ...]
    hf_tokens: tuple[str, ...]
    tokens: tuple[str, ...]  # fieldasr names: <blank> first, | for the word delimiter, phones re-spelled

    def renamed(self) -> dict[str, str]:
        return {hf: ours for hf, ours in zip(self.hf_tokens, self.tokens) if hf != ours}


@dataclass(frozen=True)
class ImportSummary:
    bundle: Path
    model_type: str
    language: str | None
    label_unit: str
    mapping: TokenMapping
    unsplit_phone_tokens: tuple[str, ...]  # phone tokens that are more than one phone for fieldasr's G2P (kept whole)
    added_word_boundary: bool = False  # a phone model without word delimiter got `|`, scored as its blank (see below)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EncoderCheckpointError(f"{path}: not valid JSON ({error}); copy the checkpoint folder again.") from error


def _special_tokens(directory: Path) -> tuple[str, str]:
    """(pad token, word delimiter) as the checkpoint's tokenizer files name them; transformers' defaults otherwise."""
    settings: dict[str, Any] = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        if (directory / name).is_file():
            settings.update(_read_json(directory / name))
    pad = settings.get("pad_token", "<pad>")
    pad = pad.get("content", "<pad>") if isinstance(pad, dict) else pad
    return str(pad), str(settings.get("word_delimiter_token", WORD_BOUNDARY))


def checkpoint_vocabulary(checkpoint: EncoderCheckpoint, language: str | None) -> dict[str, int]:
    """vocab.json's token → id (MMS: the entry of `language`), checked against the adapters when there are some."""
    directory = checkpoint.directory
    path = directory / "vocab.json"
    if not path.is_file():
        raise EncoderCheckpointError(f"{directory}: no vocab.json, so the output layer's tokens are unknown. Copy the checkpoint's "
                                     "tokenizer files (vocab.json, tokenizer_config.json) into the folder.")
    vocabulary = _read_json(path)
    has_adapters = checkpoint.settings.get("adapter_attn_dim") is not None
    per_language = isinstance(vocabulary, dict) and bool(vocabulary) and all(isinstance(value, dict) for value in vocabulary.values())
    if has_adapters or per_language:
        known = available_adapters(directory) if has_adapters else sorted(vocabulary)
        if language is None or language not in known:
            what = "no --target-lang given" if language is None else f"no adapter for --target-lang {language!r}"
            raise EncoderCheckpointError(f"{directory}: {what}; this checkpoint has per-language adapters: "
                                         f"{', '.join(known) if known else 'none (no adapter.<lang>.safetensors files)'}.")
        if not per_language or language not in vocabulary:
            raise EncoderCheckpointError(f"{path}: has no vocabulary for {language!r}; expected {{language: {{token: id}}}} as MMS ships it.")
        vocabulary = vocabulary[language]
    elif language is not None:
        raise EncoderCheckpointError(f"{directory}: --target-lang {language!r} given, but the checkpoint has no per-language "
                                     "adapters (no adapter_attn_dim in config.json). Leave --target-lang out.")
    if not isinstance(vocabulary, dict) or not all(isinstance(index, int) for index in vocabulary.values()):
        raise EncoderCheckpointError(f"{path}: expected an object of token → id.")
    return vocabulary


def token_mapping(vocabulary: dict[str, int], output_size: int, pad: str, delimiter: str, label_unit: str,
                  source: str) -> tuple[TokenMapping, tuple[str, ...]]:
    """The explicit blank mapping: the pad's row first as `<blank>`, then the other ids in order."""
    if pad not in vocabulary:
        raise EncoderCheckpointError(f"{source}: the pad token {pad!r} (the CTC blank of Hugging Face models) is not in vocab.json.")
    by_id = {index: token for token, index in vocabulary.items()}
    outside = sorted(index for index in by_id if not 0 <= index < output_size)
    if outside:
        raise EncoderCheckpointError(f"{source}: vocab.json has ids {outside[:5]} outside the {output_size} outputs of the model's head.")
    # Rows vocab.json does not name keep a placeholder name, so the argmax over all rows stays as the checkpoint's.
    hf_tokens = [by_id.get(index, f"<unnamed {index}>") for index in range(output_size)]
    order = [vocabulary[pad]] + [index for index in range(output_size) if index != vocabulary[pad]]
    names, unsplit = [], []
    for index in order:
        token = hf_tokens[index]
        name = BLANK if index == vocabulary[pad] else WORD_BOUNDARY if token == delimiter else token
        if label_unit == "phones" and name not in (BLANK, WORD_BOUNDARY) and not name.startswith("<"):
            name, whole = _phone_name(name)
            if not whole:
                unsplit.append(token)
        if not name.strip() or any(character.isspace() for character in name):
            raise EncoderCheckpointError(f"{source}: token {token!r} is white space but not the word delimiter {delimiter!r}; "
                                         "fieldasr's token files cannot hold it.")
        names.append(name if name not in names else token)  # two tokens spelled alike: the second keeps its own name
    if len(set(names)) != len(names):
        raise EncoderCheckpointError(f"{source}: tokens clash after renaming ({BLANK!r}, {WORD_BOUNDARY!r} or {UNKNOWN!r} used twice).")
    return TokenMapping(tuple(order), tuple(hf_tokens[index] for index in order), tuple(names)), tuple(unsplit)


def _phone_name(token: str) -> tuple[str, bool]:
    """The token as fieldasr's G2P spells the phone, and whether it is one phone (else it is kept whole)."""
    from fieldasr.g2p.segment import IPAOptions, ipa_to_phones

    phones = ipa_to_phones(token, IPAOptions(strip_stress=False))
    if len(phones) == 1:
        return phones[0], True
    return token, len(phones) == 0


def import_hf(directory: str | Path, output: str | Path, target_language: str | None = None, label_unit: str = "characters",
              overwrite: bool = False, lexicon: str | Path | None = None, language_model: str | Path | None = None,
              g2p_spec: str | Path | None = None) -> ImportSummary:
    """Write a bundle that transcribes with the checkpoint's own output layer (and, when given, a lexicon, LM and G2P
    spec for beam decoding, checked against its tokens as `fieldasr export` checks them)."""
    if label_unit not in LABEL_UNITS:
        raise EncoderCheckpointError(f"label unit {label_unit!r} is not one of {', '.join(LABEL_UNITS)}.")
    if Path(output).exists() and not overwrite:
        raise EncoderCheckpointError(f"{output}: already exists; nothing was written. Choose another folder or pass --overwrite.")
    checkpoint = read_checkpoint(directory)
    require_ctc(checkpoint)
    vocabulary = checkpoint_vocabulary(checkpoint, target_language)
    pad, delimiter = _special_tokens(checkpoint.directory)
    ctc = load_ctc_model(checkpoint)
    encoder = getattr(ctc, ctc.base_model_prefix)
    model = Wav2Vec2CTC(checkpoint.settings, ctc.lm_head.out_features, freeze_feature_encoder=False, model_type=checkpoint.model_type,
                        inputs=checkpoint.inputs, encoder=encoder)
    model.head.load_state_dict(ctc.lm_head.state_dict())
    if target_language is not None and checkpoint.settings.get("adapter_attn_dim") is not None:
        model.load_mms_adapter(checkpoint.directory, target_language, with_head=True)
    mapping, unsplit = token_mapping(vocabulary, model.head.out_features, pad, delimiter, label_unit, str(checkpoint.directory / "vocab.json"))
    reorder_outputs(model.head, mapping.hf_ids)
    tokens = mapping.tokens
    if label_unit == "phones" and WORD_BOUNDARY not in tokens:
        model.set_output_layer(with_boundary_like_blank(model.head))
        tokens = (*tokens, WORD_BOUNDARY)
    bundle = export_bundle(output, model.eval(), Vocabulary(tokens), label_unit=label_unit, language=target_language,
                           overwrite=overwrite, lexicon=lexicon, language_model=language_model, g2p_spec=g2p_spec)
    return ImportSummary(bundle, checkpoint.model_type, target_language, label_unit, mapping, unsplit,
                         added_word_boundary=len(tokens) > len(mapping.tokens))


def with_boundary_like_blank(head: torch.nn.Linear) -> torch.nn.Linear:
    """The head plus a word-boundary row equal to the blank's (row 0). Phone models such as espeak-cv-ft output no
    word boundaries, but fieldasr's lexicon decoding needs one between words: scored as the blank, a boundary is as
    likely as silence or a pause between phones, so the beam search can put words where the lexicon fits. Greedy
    output is unchanged (on a tie the first row, the blank, wins)."""
    extended = torch.nn.Linear(head.in_features, head.out_features + 1)
    with torch.no_grad():
        extended.weight.copy_(torch.cat([head.weight, head.weight[:1]]))
        extended.bias.copy_(torch.cat([head.bias, head.bias[:1]]))
    return extended


def reorder_outputs(head: torch.nn.Linear, order: tuple[int, ...]) -> None:
    """Output row i becomes the checkpoint's row order[i]."""
    index = torch.tensor(order)
    with torch.no_grad():
        head.weight.copy_(head.weight[index].clone())
        head.bias.copy_(head.bias[index].clone())
