"""Tiny language models of every family text-side transfer supports, saved as hub snapshots are laid out
(config.json, model.safetensors, the family's tokenizer files), made with each family's own transformers classes
and exact config keys. Each tokenizer is of its family's type, trained locally on a few sentences with `tokenizers`
and wrapped in the family's transformers tokenizer class: byte-level BPE (GPT-2, Qwen2), SentencePiece Unigram
with Metaspace (XLM-R), SentencePiece BPE with Metaspace (Llama, as Llama-2/TinyLlama ship it), WordPiece (BERT)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
         "max_position_embeddings": 64}
# name: (config class, model class, kind, extra config settings)
FAMILIES = {
    "gpt2": ("GPT2Config", "GPT2LMHeadModel", "causal",
             {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64, "tie_word_embeddings": True}),
    "xlm-roberta": ("XLMRobertaConfig", "XLMRobertaForMaskedLM", "masked",
                    {**SIZES, "max_position_embeddings": 70, "tie_word_embeddings": True}),
    "llama": ("LlamaConfig", "LlamaForCausalLM", "causal",
              {**SIZES, "num_key_value_heads": 1, "tie_word_embeddings": False}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", "causal",
              {**SIZES, "num_key_value_heads": 1, "tie_word_embeddings": False}),
    "bert": ("BertConfig", "BertForMaskedLM", "masked", {**SIZES, "tie_word_embeddings": True}),
}


def _byte_level_bpe(lines: list[str], vocab_size: int, specials: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(lines, trainer=trainer)
    return _vocab_and_merges(tokenizer)


def _vocab_and_merges(tokenizer: Tokenizer) -> tuple[dict[str, int], list[tuple[str, str]]]:
    state = json.loads(tokenizer.to_str())["model"]
    return state["vocab"], [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in state["merges"]]


def gpt2_tokenizer(lines: list[str], vocab_size: int):
    """<|endoftext|> is the last entry of vocab.json (50256 in GPT-2)."""
    vocab, merges = _byte_level_bpe(lines, vocab_size - 1, [])
    return transformers.GPT2Tokenizer(vocab={**vocab, "<|endoftext|>": len(vocab)}, merges=merges)


def qwen2_tokenizer(lines: list[str], vocab_size: int):
    """The special tokens are added tokens after the BPE vocabulary (151643 onwards in Qwen2)."""
    vocab, merges = _byte_level_bpe(lines, vocab_size - 3, [])
    tokenizer = transformers.Qwen2Tokenizer(vocab=vocab, merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    return tokenizer


def xlm_roberta_tokenizer(lines: list[str], vocab_size: int):
    """XLM-R's layout: <s> <pad> </s> <unk> first, then the pieces, <mask> last."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size - 1, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", show_progress=False)
    tokenizer.train_from_iterator(lines, trainer=trainer)
    pieces = [tuple(item) for item in json.loads(tokenizer.to_str())["model"]["vocab"]]
    return transformers.XLMRobertaTokenizer(vocab=pieces + [("<mask>", 0.0)])


def llama_tokenizer(lines: list[str], vocab_size: int):
    """SentencePiece BPE (Llama-2, TinyLlama): <unk> <s> </s> first, pieces written with ▁, no pad token."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tokenizer.train_from_iterator(lines, trainer=trainer)
    vocab, merges = _vocab_and_merges(tokenizer)
    # Llama's byte-fallback pieces <0x00>..<0xFF> follow the three specials, as in its tokenizer.model
    pieces = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    ordered = pieces[:3] + [f"<0x{byte:02X}>" for byte in range(256)] + pieces[3:]
    return transformers.LlamaTokenizer(vocab={token: index for index, token in enumerate(ordered)}, merges=merges)


def bert_tokenizer(lines: list[str], vocab_size: int):
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, show_progress=False,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tokenizer.train_from_iterator(lines, trainer=trainer)
    return transformers.BertTokenizer(vocab=tokenizer.get_vocab())


TOKENIZERS = {"gpt2": gpt2_tokenizer, "xlm-roberta": xlm_roberta_tokenizer, "llama": llama_tokenizer,
              "qwen2": qwen2_tokenizer, "bert": bert_tokenizer}


def make_language_model(folder: Path, family: str, lines: list[str], vocab_size: int = 300, seed: int = 0) -> Path:
    """A tiny `family` model whose tokenizer was trained on `lines`, saved to `folder` like a hub snapshot."""
    config_class, model_class, _, settings = FAMILIES[family]
    tokenizer = TOKENIZERS[family](lines, vocab_size)
    ids = {name: getattr(tokenizer, name) for name in ("bos_token_id", "eos_token_id", "pad_token_id")}
    config = getattr(transformers, config_class)(**settings, **ids, vocab_size=len(tokenizer))
    torch.manual_seed(seed)
    model = getattr(transformers, model_class)(config)
    with torch.no_grad():  # fresh weights leave biases at zero; make every row distinguishable
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def kind_of(family: str) -> str:
    return FAMILIES[family][2]
