"""The Conformer speech chain: SSL pretraining (resumable) → continued SSL (warm-up again) → CTC from its encoder."""
from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_ssl_conformer import CONFORMER_OPTIONS
from train_data import english_corpus  # noqa: F401  (fixture)

from fieldasr.ssl.conformer_pretraining import ConformerPretrainingTask, load_conformer_checkpoint
from fieldasr.ssl.conformer_source import conformer_model
from fieldasr.ssl.pretrain import continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingError
from fieldasr.ssl.recipe import main as continued_pretraining_main
from fieldasr.train.config import ConfigError
from fieldasr.train.recipe import main as ctc_main

torch.set_num_threads(1)
RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TINY_SOURCE = {"architecture": "conformer", "size": "tiny",
               "quantizer": {"num_codevectors_per_group": 16, "codevector_dim": 32, "proj_codevector_dim": 32}}
# One utterance per batch (each lasts 1-2.5 s): 8 updates per epoch.
RUN = {"options": CONFORMER_OPTIONS, "max_steps": 6, "warmup_steps": 4, "lr": 1e-3, "max_batch_seconds": 3.0,
       "checkpoint_interval_steps": 2, "log_interval_steps": 1, "progress_bar": False}


class Killed(Exception):
    pass


def logged(log: Path, name: str) -> dict[int, float]:
    with open(log, newline="") as stream:
        return {int(row["step"]): float(row["value"]) for row in csv.DictReader(stream)
                if row["stage"] == "train" and row["name"] == name}


def overrides(*settings: str) -> list[str]:
    return [item for setting in settings for item in ("--set", setting)]


@pytest.fixture(scope="module")
def ssl_run(english_corpus, tmp_path_factory):  # noqa: F811
    """A finished tiny Conformer SSL run: its experiment folder and manifests."""
    folder = tmp_path_factory.mktemp("conformer_ssl")
    english_corpus.save(folder / "data")
    summary = continue_pretraining(TINY_SOURCE, folder / "data", folder / "exp", **RUN)
    return folder, summary


def test_ssl_run_logs_accuracy_and_perplexity_and_writes_a_checkpoint(ssl_run):
    _, summary = ssl_run
    assert summary.steps == 6 and (summary.checkpoint / "config.json").is_file()
    accuracy, perplexity = logged(summary.log, "contrastive_accuracy"), logged(summary.log, "codebook_perplexity")
    assert sorted(accuracy) == sorted(perplexity) == [1, 2, 3, 4, 5, 6]
    assert all(0 <= value <= 1 for value in accuracy.values()) and all(1 <= value <= 32 for value in perplexity.values())


def test_killed_ssl_run_resumes_its_step_count(ssl_run, tmp_path, monkeypatch):
    folder, _ = ssl_run
    original_step = ConformerPretrainingTask.set_training_step

    def die_at_step_four(task, step):
        if step == 4:
            raise Killed
        original_step(task, step)

    monkeypatch.setattr(ConformerPretrainingTask, "set_training_step", die_at_step_four)
    with pytest.raises(Killed):
        continue_pretraining(TINY_SOURCE, folder / "data", tmp_path / "killed", **RUN)
    monkeypatch.setattr(ConformerPretrainingTask, "set_training_step", original_step)
    resumed = continue_pretraining(TINY_SOURCE, folder / "data", tmp_path / "killed", **RUN)
    assert resumed.steps == 6 and resumed.steps_this_run == 2  # on from the checkpoint after step 4
    assert sorted(logged(resumed.log, "loss")) == [1, 2, 3, 4, 5, 6]
    lr = logged(resumed.log, "lr")
    assert lr[5] > lr[6]  # the decay went on where it was, no second warm-up


def test_continued_pretraining_starts_from_the_checkpoint_and_warms_up_again(ssl_run, tmp_path):
    folder, first = ssl_run
    continued_source = {"architecture": "conformer", "init_from": str(folder / "exp")}
    start = conformer_model(continued_source, tmp_path / "continued")
    for name, value in load_conformer_checkpoint(first.checkpoint).state_dict().items():
        assert torch.equal(start.state_dict()[name], value), name
    continued = continue_pretraining(continued_source, folder / "data", tmp_path / "continued", **RUN)
    assert continued.steps == continued.steps_this_run == 6  # a new run, not a resumed one
    first_lr, continued_lr = logged(first.log, "lr"), logged(continued.log, "lr")
    assert continued_lr == pytest.approx(first_lr)  # warm-up again: 1/2, 3/4, 1 of the peak, then the decay
    assert continued_lr[1] == pytest.approx(0.5 * RUN["lr"])
    with pytest.raises(PretrainingError, match="new output folder"):
        continue_pretraining(continued_source, folder / "data", folder / "exp", **RUN)


def test_init_from_copies_exactly_the_encoder_tensors(ssl_run, tmp_path):
    folder, summary = ssl_run
    experiment = tmp_path / "ctc"
    ctc_main([str(RECIPES / "multilingual/hparams/base.yaml"), *overrides(
        f"experiment_dir={experiment}", f"data.train={folder / 'data'}", "data.valid=null", "data.speed_factors=[]",
        "model.size=tiny", f"model.init_from={folder / 'exp'}", "trainer.max_steps=0", "trainer.progress_bar=false")])
    initial = torch.load(next((experiment / "checkpoints").glob("CKPT+*")) / "task.ckpt")
    pretrained = {name.removeprefix("encoder."): value for name, value in load_file(summary.checkpoint / "model.safetensors").items()
                  if name.startswith("encoder.")}
    model = {name.removeprefix("model."): value for name, value in initial.items() if name.startswith("model.")}
    assert set(model) - set(pretrained) == {"head.weight", "head.bias"}  # the quantiser and projections stay behind
    for name, value in pretrained.items():
        assert torch.equal(model[name], value), name


def test_init_from_of_another_shape_or_kind_is_refused_by_key(ssl_run, tmp_path):
    folder, _ = ssl_run
    common = [f"experiment_dir={tmp_path / 'ctc'}", f"data.train={folder / 'data'}", "data.valid=null"]
    with pytest.raises(ConfigError, match=r"model\.config\.hidden_size is 144.*hidden_size = 64.*set model\.size: tiny"):
        ctc_main([str(RECIPES / "multilingual/hparams/base.yaml"), *overrides(*common, f"model.init_from={folder / 'exp'}")])
    with pytest.raises(ConfigError, match=r"model\.init_from: .*no Conformer SSL checkpoint"):
        ctc_main([str(RECIPES / "multilingual/hparams/base.yaml"), *overrides(*common, "model.size=tiny", f"model.init_from={folder}")])
    with pytest.raises(ConfigError, match=r"model\.init_from starts a conformer_ctc .*use model\.pretrained"):
        ctc_main([str(RECIPES / "ctc/hparams/base.yaml"), *overrides(*common, f"model.init_from={folder / 'exp'}")])
    with pytest.raises(ConfigError, match=r"model\.init_from and transfer\.init_from"):
        ctc_main([str(RECIPES / "transfer/hparams/base.yaml"), *overrides(*common, f"model.init_from={folder / 'exp'}")])
    with pytest.raises(ConfigError, match=r"model\.init_from: 3 is not"):
        ctc_main([str(RECIPES / "multilingual/hparams/base.yaml"), *overrides(*common, "model.init_from=3")])
    assert not (tmp_path / "ctc").exists()  # refused before anything was written


def test_conformer_recipe_continues_then_fine_tunes_from_the_encoder(ssl_run, tmp_path):
    folder, _ = ssl_run
    experiment = tmp_path / "exp"
    tiny = [f"experiment_dir={experiment}", f"pretraining.source.init_from={folder / 'exp'}",
            f"pretraining.data={folder / 'data'}", "pretraining.replay=null", "pretraining.replay_fraction=0.0",
            "pretraining.max_steps=2", "pretraining.warmup_steps=1", "pretraining.max_batch_seconds=10",
            "pretraining.progress_bar=false", "pretraining.options={mask_length: 2, num_negatives: 10, mask_probability: 0.5}",
            f"fine_tuning.data.train={folder / 'data'}", "fine_tuning.data.speed_factors=[]", "fine_tuning.data.max_batch_duration=10",
            "fine_tuning.trainer.max_steps=2", "fine_tuning.trainer.warmup_steps=0", "fine_tuning.trainer.progress_bar=false"]
    hparams = str(RECIPES / "continued_pretraining/hparams/conformer.yaml")
    with pytest.raises(ConfigError, match=r"fine_tuning\.model\.config\.hidden_size is 144.*fine_tuning\.model\.size: tiny"):
        continued_pretraining_main([hparams, *overrides(*tiny)])
    assert not experiment.exists()
    summary = continued_pretraining_main([hparams, *overrides(*tiny, "fine_tuning.model.size=tiny")])
    assert summary.pretraining.steps == 2 and summary.fine_tuning.optimizer_steps == 2
    recorded = yaml.safe_load((experiment / "ctc/config.yaml").read_text())
    assert recorded["model"]["architecture"] == "conformer_ctc"
    assert recorded["model"]["init_from"] == str(experiment / "pretraining/checkpoint")


@pytest.mark.parametrize("source, key", [
    ({"architecture": "conformer", "sise": "tiny"}, r"pretraining\.source\.sise is not a setting.*Did you mean 'size'"),
    ({"architecture": "conformer", "size": "huge"}, r"pretraining\.source\.size: 'huge' is not one of 'tiny', 'small'"),
    ({"architecture": "conformer", "config": {"hiden_size": 8}}, r"pretraining\.source\.config\.hiden_size is not"),
    ({"architecture": "conformer", "quantizer": {"codevector_dim": 33}}, r"pretraining\.source\.quantizer: .*divisible"),
    ({"architecture": "conformer", "quantizer": {"num_codevector_groups": "two"}}, r"quantizer\.num_codevector_groups: 'two' is not a whole number"),
    ({"architecture": "conformer", "init_from": "exp/ssl", "size": "small"}, r"pretraining\.source\.size: with pretraining\.source\.init_from"),
])
def test_conformer_source_mistakes_are_named(source, key):
    from fieldasr.ssl.recipe import read_continued_pretraining_recipe
    from fieldasr.train.config import read_recipe

    with pytest.raises(ConfigError, match=key):
        read_continued_pretraining_recipe(read_recipe(RECIPES / "continued_pretraining/hparams/conformer.yaml",
                                                      [f"pretraining.source={json.dumps(source)}"]))


def test_pretrain_command_from_scratch_then_continued(ssl_run, tmp_path):
    from click.testing import CliRunner

    from fieldasr.cli import cli

    folder, _ = ssl_run
    source = tmp_path / "conformer.json"
    source.write_text(json.dumps(TINY_SOURCE))
    tiny = ["--max-steps", "2", "--warmup-steps", "1", "--max-batch-seconds", "10", "--mask-length", "2", "--num-negatives", "10"]
    scratch = CliRunner().invoke(cli, ["pretrain", str(source), str(folder / "data"), "--out", str(tmp_path / "a"), *tiny],
                                 catch_exceptions=False)
    assert scratch.exit_code == 0 and "(model.init_from, conformer_ctc)" in scratch.output, scratch.output
    continued = CliRunner().invoke(cli, ["pretrain", str(tmp_path / "a/checkpoint"), str(folder / "data"), "--out", str(tmp_path / "b"),
                                         *tiny], catch_exceptions=False)
    assert continued.exit_code == 0 and "done: 2 steps (2 in this run)" in continued.output, continued.output


def test_encoder_weights_of_another_shape_are_refused_by_tensor(ssl_run):
    from fieldasr.models import TINY_CONFORMER, ConformerCTC
    from fieldasr.models.conformer_checkpoint import SSLCheckpointError, load_encoder_weights

    folder, _ = ssl_run
    wider = ConformerCTC(dataclasses.replace(TINY_CONFORMER, ffn_size=96), vocab_size=5)
    before = {name: value.clone() for name, value in wider.state_dict().items()}
    with pytest.raises(SSLCheckpointError, match=r"encoder tensor conformer\.conformer_layers\.0\.ffn1\.sequential\.1\.weight is \(128, 64\)"):
        load_encoder_weights(wider, folder / "exp")
    assert all(torch.equal(value, before[name]) for name, value in wider.state_dict().items())  # nothing half-loaded
