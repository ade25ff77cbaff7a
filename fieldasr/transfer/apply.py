"""Put transferred embeddings into a Hugging Face model: input embeddings, and the LM head tied or initialised alike."""
from __future__ import annotations

import numpy as np
import torch

from fieldasr.transfer.initialisers import COPIED, EmbeddingInitialiser, InitialisedEmbeddings
from fieldasr.transfer.tokenizer import check_tokenizer_fits_model
from fieldasr.transfer.vocabulary import VocabularyPair, tokens_of


def _is_tied(model) -> bool:
    output = model.get_output_embeddings()
    return output is not None and output.weight is model.get_input_embeddings().weight


def _transfer_bias(output: torch.nn.Module, source_bias: np.ndarray, result: InitialisedEmbeddings,
                   copies: dict[int, int]) -> None:
    """Copied tokens keep their output bias; every other token gets the mean source bias."""
    bias = np.full(len(result.origin), source_bias.mean(), dtype=np.float32)
    for target_id, source_id in copies.items():
        if result.origin[target_id] == COPIED:
            bias[target_id] = source_bias[source_id]
    if output.bias.shape == bias.shape:
        output.bias.copy_(torch.from_numpy(bias))  # in place: RoBERTa's lm_head.bias is the same tensor
    else:
        output.bias = torch.nn.Parameter(torch.from_numpy(bias))


def transfer_model_embeddings(model, source_tokenizer, target_tokenizer,
                              initialiser: EmbeddingInitialiser) -> InitialisedEmbeddings:
    """Replace `model`'s vocabulary (that of `source_tokenizer`) by `target_tokenizer`'s, in place.

    An untied output layer is initialised by the same method from the source output matrix (same seed, so the
    same neighbours and weights); a tied one follows the input embeddings automatically.
    """
    check_tokenizer_fits_model(source_tokenizer, model, "the source model")
    vocabularies = VocabularyPair.of(tokens_of(source_tokenizer), tokens_of(target_tokenizer))
    source_input = model.get_input_embeddings().weight.detach().float().numpy().copy()
    result = initialiser.initialise(vocabularies, source_input)
    tied = _is_tied(model)
    output = model.get_output_embeddings()
    source_output = None if (output is None or tied) else output.weight.detach().float().numpy().copy()
    source_bias = None if getattr(output, "bias", None) is None else output.bias.detach().float().numpy().copy()

    model.resize_token_embeddings(len(target_tokenizer), mean_resizing=False)  # rows are overwritten below
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(torch.from_numpy(result.embeddings))
        output = model.get_output_embeddings()
        if source_output is not None:
            output.weight.copy_(torch.from_numpy(initialiser.initialise(vocabularies, source_output).embeddings))
        if source_bias is not None:
            _transfer_bias(output, source_bias, result, vocabularies.overlap())
    if tied:
        model.tie_weights()
    model.config.vocab_size = len(target_tokenizer)
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(target_tokenizer, name, None)
        if value is not None:
            setattr(model.config, name, value)
    return result
