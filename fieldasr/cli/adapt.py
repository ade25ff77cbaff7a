"""`fieldasr adapt`: the correction loop (fine-tune a bundle on the fieldworker's corrections in ELAN)."""
from __future__ import annotations

from pathlib import Path

import click


def _speed_factors(value: str) -> tuple[float, ...]:
    try:
        factors = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers, e.g. 0.9,1.0,1.1 (or 1.0 for none).") from None
    if any(factor <= 0 for factor in factors):
        raise click.BadParameter(f"{value!r}: speed factors must be positive, e.g. 0.9,1.0,1.1.")
    return factors


@click.command(context_settings={"show_default": True})
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tier", required=True, help="The tier holding the corrections (e.g. the tier fieldasr transcribed into).")
@click.option("--out", "output", required=True, type=click.Path(path_type=Path), help="Folder for the new bundle (must not exist).")
@click.option("--replay", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Manifest folder of the bundle's original training data, mixed in so that the model keeps what it knew.")
@click.option("--replay-ratio", type=float, default=3.0, help="Replayed utterances per corrected one (at most all of them).")
@click.option("--steps", type=int, default=600, help="Fine-tuning steps.")
@click.option("--lr", type=float, default=1e-4, help="Peak learning rate (warm-up over the first tenth of the steps, then linear decay to zero).")
@click.option("--speed-factors", default="0.9,1.0,1.1", callback=lambda context, parameter, value: _speed_factors(value),
              help="Speed perturbation while fine-tuning, as the small-data recipe trains; 1.0 for none.")
@click.option("--held-out", "held_out", type=float, default=0.2, help="Share of the corrections kept out of training to measure the change.")
@click.option("--batch-seconds", type=float, default=20.0, help="Padded audio per training batch; lower it if memory runs out.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), help="Checkpoints (default: OUT.work); rerun to continue a killed run.")
@click.option("--device", default="cpu", help="cpu or cuda[:N].")
def adapt(bundle: Path, files: tuple[Path, ...], tier: str, output: Path, replay: Path | None, replay_ratio: float, steps: int,
          lr: float, speed_factors: tuple[float, ...], held_out: float, batch_seconds: float, work_dir: Path | None, device: str) -> None:
    """Fine-tune BUNDLE on the annotations you corrected in TIER of the ELAN FILES; write a new bundle to --out.

    An annotation is a correction when it is not fieldasr's unchanged output (fieldasr's mark on the tier tells
    them apart); a tier you made by hand is all corrections. Part of the corrections is held out, and the phone
    error rate on it is reported before and after. The input bundle is never changed. Training keeps
    checkpoints in --work-dir: run the same command again to continue an interrupted run.

    \b
    Example:
      fieldasr transcribe exp/bundle session3.wav --into session3.eaf --tier asr
      (correct tier asr in ELAN)
      fieldasr adapt exp/bundle session3.eaf --tier asr --out exp/bundle-2 --replay corpora_manifests/train
    """
    from fieldasr.train.adapt import AdaptOptions, adapt_bundle

    options = AdaptOptions(steps=steps, lr=lr, held_out_fraction=held_out, replay=replay, replay_ratio=replay_ratio,
                           speed_factors=speed_factors, max_batch_seconds=batch_seconds, work_dir=work_dir, device=device)
    click.echo(adapt_bundle(bundle, files, tier, output, options).report())
