"""Thin recipe entry point: `python recipes/lm_transfer/train.py recipes/lm_transfer/hparams/FILE.yaml [--set key=value ...]`.

The steps live in `fieldasr.transfer.recipe`: a tokenizer trained on the target training text, the source
model's embeddings transferred to it, then continued pretraining on the common Trainer (resumable).
"""
from fieldasr.train.recipe import exit_on_user_error
from fieldasr.transfer.recipe import main

if __name__ == "__main__":
    exit_on_user_error(main)  # a mistake in the YAML: its message and exit code 2, no traceback
