"""Thin recipe entry point: `python recipes/xlsr_finetune/train.py recipes/xlsr_finetune/hparams/FILE.yaml [--set key=value ...]`.

Continued pretraining on untranscribed target audio -> multilingual phone CTC with related languages -> target-language
fine-tuning, from a local XLS-R (or other wav2vec 2.0) checkpoint; the stages live in `fieldasr.ssl.staged_recipe`.
"""
from fieldasr.ssl.staged_recipe import main
from fieldasr.train.recipe import exit_on_user_error

if __name__ == "__main__":
    exit_on_user_error(main)  # a mistake in the YAML: its message and exit code 2, no traceback
