"""The continued-pretraining recipe (2 SSL steps → 2 CTC steps) and `fieldasr pretrain`, on tiny espeak-ng data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file
from test_ssl_pretrain import TINY_CONFIG
from train_data import english_corpus  # noqa: F401  (fixture)
from transformers import Wav2Vec2ForCTC

from fieldasr.cli import cli
from fieldasr.ssl.recipe import main
from fieldasr.train.config import ConfigError

torch.set_num_threads(1)
HPARAMS = Path(__file__).resolve().parent.parent / "recipes/continued_pretraining/hparams"
TINY_PRETRAINING = ["pretraining.max_steps=2", "pretraining.warmup_steps=1", "pretraining.grad_accumulation=1",
                    "pretraining.max_batch_seconds=10", "pretraining.progress_bar=false",
                    "pretraining.replay=null", "pretraining.replay_fraction=0.0",
                    "pretraining.options={mask_length: 5, num_negatives: 20, mask_probability: 0.5}"]
TINY_FINE_TUNING = ["fine_tuning.trainer.max_steps=2", "fine_tuning.trainer.warmup_steps=0", "fine_tuning.trainer.progress_bar=false",
                    "fine_tuning.model.freeze_encoder_steps=0", "fine_tuning.data.speed_factors=[]",
                    "fine_tuning.data.max_batch_duration=10", "fine_tuning.data.valid=null", "fine_tuning.data.g2p_spec=null"]


def run(hparams: Path, *overrides: str):
    return main([str(hparams), *[item for override in overrides for item in ("--set", override)]])


def test_recipe_pretrains_then_fine_tunes_from_the_checkpoint(english_corpus, tmp_path):  # noqa: F811
    english_corpus.save(tmp_path / "data")
    experiment = tmp_path / "exp"
    summary = run(HPARAMS / "example_language.yaml", f"experiment_dir={experiment}",
                  f"pretraining.source={json.dumps(TINY_CONFIG)}", f"pretraining.data={tmp_path / 'data'}",
                  f"fine_tuning.data.train={tmp_path / 'data'}", *TINY_PRETRAINING, *TINY_FINE_TUNING)
    assert summary.pretraining.steps == 2 and summary.fine_tuning.optimizer_steps == 2
    assert summary.pretraining.checkpoint == experiment / "pretraining/checkpoint"
    recorded = yaml.safe_load((experiment / "config.yaml").read_text())
    assert recorded["fine_tuning"]["data"]["language"] == "example_language"  # the override reached the CTC stage
    ctc_config = yaml.safe_load((experiment / "ctc/config.yaml").read_text())
    assert ctc_config["model"]["pretrained"] == str(experiment / "pretraining/checkpoint")
    # The CTC model started from the pretrained encoder; its convolutional feature encoder stays frozen, so equal.
    pretrained = load_file(experiment / "pretraining/checkpoint/model.safetensors")
    ctc_checkpoint = next((experiment / "ctc/checkpoints").glob("CKPT+*"))
    fine_tuned = torch.load(ctc_checkpoint / "task.ckpt")
    conv = "feature_extractor.conv_layers.0.conv.weight"
    assert torch.equal(fine_tuned[f"model.encoder.{conv}"], pretrained[f"wav2vec2.{conv}"])


def test_unknown_pretraining_setting_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="mask_prob"):
        run(HPARAMS / "base.yaml", f"experiment_dir={tmp_path}", "pretraining.options={mask_prob: 0.5}")


def test_pretrain_command_from_a_json_config(english_corpus, tmp_path):  # noqa: F811
    english_corpus.save(tmp_path / "data")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    result = CliRunner().invoke(cli, ["pretrain", str(config), str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                                      "--max-steps", "2", "--warmup-steps", "1", "--max-batch-seconds", "10"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "done: 2 steps" in result.output
    assert Wav2Vec2ForCTC.from_pretrained(str(tmp_path / "out/checkpoint")).config.hidden_size == 32
