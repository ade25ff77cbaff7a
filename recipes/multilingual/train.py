"""Thin recipe entry point: `python recipes/RECIPE/train.py recipes/RECIPE/hparams/FILE.yaml [--set key=value ...]`.

The steps are run by `fieldasr.train.recipe`; this recipe differs from the others only by its YAML.
Under `torchrun --nproc_per_node N` it trains with DDP.
"""
from fieldasr.train.recipe import exit_on_user_error, main

if __name__ == "__main__":
    exit_on_user_error(main)  # a mistake in the YAML: its message and exit code 2, no traceback
