"""Thin recipe entry point: `python recipes/continued_pretraining/train.py recipes/continued_pretraining/hparams/FILE.yaml
[--set key=value ...]`. Continued self-supervised pretraining on untranscribed target audio, then CTC fine-tuning
from the resulting checkpoint; the steps live in `fieldasr.ssl.recipe`.
"""
from fieldasr.ssl.recipe import main
from fieldasr.train.recipe import exit_on_user_error

if __name__ == "__main__":
    exit_on_user_error(main)  # a mistake in the YAML: its message and exit code 2, no traceback
