"""Thin recipe entry point: `python recipes/RECIPE/train.py recipes/RECIPE/hparams/FILE.yaml [--set key=value ...]`.

The steps live in `fieldasr.train.recipe`; this recipe differs from the others only by its YAML.
Under `torchrun --nproc_per_node N` it trains with DDP.
"""
from fieldasr.train.recipe import main

if __name__ == "__main__":
    main()
