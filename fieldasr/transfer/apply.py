"""Put transferred embeddings into a Hugging Face model: input embeddings, and the LM head tied or initialised alike.

The output layer, per family (`families`):
- tied (GPT-2, XLM-R, RoBERTa, BERT): it is the input matrix, so it follows the transfer.
- untied (Llama, Qwen2 with tie_word_embeddings false): the same initialiser, with the same seed, is applied to the
  source output matrix. A copied token keeps its own output row; a token combined from source tokens combines their
  output rows with the same weights as its input row (the neighbours and weights depend on the vocabularies and the
  method's resources, never on the matrix); a mean/random token gets the mean / a draw of the output rows. The output
  row is not derived from the new input row: in an untied model the two spaces differ.
- MLM decoder bias (XLM-R, RoBERTa, BERT): a copied token keeps its bias, every other token gets the mean source bias
  (a combination of unrelated tokens' biases would claim a frequency the new token need not have).
Special tokens are matched by role as well as by spelling (`VocabularyPair.of_tokenizers`), so they are copied.
"""
from __future__ import annotations

import numpy as np
import torch

from fieldasr.transfer.families import model_family
from fieldasr.transfer.initialisers import COPIED, EmbeddingInitialiser, InitialisedEmbeddings
from fieldasr.transfer.tokenizer import check_tokenizer_fits_model
from fieldasr.transfer.vocabulary import VocabularyPair


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
    same neighbours and weights); a tied one follows the input embeddings automatically. Raises
    UnsupportedModelError for a model family not in `families.FAMILIES`.
    """
    model_family(model.config)
    check_tokenizer_fits_model(source_tokenizer, model, "the source model")
    vocabularies = VocabularyPair.of_tokenizers(source_tokenizer, target_tokenizer)
    # views, not copies (a 250k × 768 matrix is 730 MB): resizing below gives the model new tensors and leaves
    # these as they are
    source_input = model.get_input_embeddings().weight.detach().float().numpy()
    result = initialiser.initialise(vocabularies, source_input)
    tied = _is_tied(model)
    output = model.get_output_embeddings()
    source_output = None if (output is None or tied) else output.weight.detach().float().numpy()
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
    _set_special_ids(model, target_tokenizer)
    return result


def _set_special_ids(model, tokenizer) -> None:
    """The config's (and generation config's) special ids are the target tokenizer's. A begin/end role the target
    tokenizer lacks is unset rather than left pointing at whatever token now has the source's id; the pad id is
    kept then (RoBERTa-style models count positions from it)."""
    configs = [model.config] + ([model.generation_config] if getattr(model, "generation_config", None) else [])
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        for config in configs:
            if hasattr(config, name) and (value is not None or name != "pad_token_id"):
                setattr(config, name, value)
