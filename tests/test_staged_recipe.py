"""recipes/xlsr_finetune at tiny size from a local checkpoint folder: 2 pretraining steps on untranscribed audio ->
2 multilingual phone CTC steps from that checkpoint -> export -> 2 target steps from the multilingual bundle."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from test_ssl_pretrain import TINY_CONFIG
from train_data import bilingual_corpus, english_corpus  # noqa: F401  (fixtures)
from transformers import Wav2Vec2Config, Wav2Vec2ForPreTraining

from fieldasr.bundle import load_bundle
from fieldasr.ssl.pretraining_task import save_pretraining_checkpoint
from fieldasr.ssl.staged_recipe import main
from fieldasr.train.config import ConfigError

torch.set_num_threads(1)
HPARAMS = Path(__file__).resolve().parent.parent / "recipes/xlsr_finetune/hparams"
ON_A_CPU = ["pretraining.device=cpu", "pretraining.precision=fp32", "pretraining.max_steps=2", "pretraining.warmup_steps=1",
            "pretraining.grad_accumulation=1", "pretraining.max_batch_seconds=10", "pretraining.progress_bar=false",
            "pretraining.options={mask_length: 5, num_negatives: 20, mask_probability: 0.5}"]
for stage in ("multilingual", "target"):
    ON_A_CPU += [f"{stage}.trainer.device=cpu", f"{stage}.trainer.precision=fp32", f"{stage}.trainer.max_steps=2",
                 f"{stage}.trainer.warmup_steps=0", f"{stage}.trainer.progress_bar=false", f"{stage}.data.speed_factors=[]",
                 f"{stage}.data.max_batch_duration=10", f"{stage}.data.valid=null"]


def run(*overrides: str):
    return main([str(HPARAMS / "example_language.yaml"), *[item for override in overrides for item in ("--set", override)]])


@pytest.fixture(scope="module")
def local_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint folder laid out as a hub snapshot of XLS-R is (config.json, weights, preprocessor_config.json)."""
    torch.manual_seed(0)
    config = Wav2Vec2Config(**TINY_CONFIG, mask_time_prob=0.05)
    return save_pretraining_checkpoint(Wav2Vec2ForPreTraining(config), tmp_path_factory.mktemp("xlsr") / "tiny-xlsr")


def test_three_stages_chain_from_a_local_checkpoint(local_checkpoint, english_corpus, bilingual_corpus, tmp_path):  # noqa: F811
    english_corpus.save(tmp_path / "target")
    bilingual_corpus.save(tmp_path / "related")
    experiment = tmp_path / "exp"
    summary = run(f"experiment_dir={experiment}", f"pretraining.source={local_checkpoint}", f"pretraining.data={tmp_path / 'target'}",
                  f"multilingual.data.train={tmp_path / 'related'}", f"target.data.train={tmp_path / 'target'}",
                  "target.data.g2p_spec=null", *ON_A_CPU)
    assert (summary.pretraining.steps, summary.multilingual.optimizer_steps, summary.target.optimizer_steps) == (2, 2, 2)
    multilingual = yaml.safe_load((experiment / "multilingual/config.yaml").read_text())
    assert multilingual["model"]["pretrained"] == str(experiment / "pretraining/checkpoint")
    assert multilingual["data"]["language_balance_alpha"] == 0.5  # the base file's setting reached stage 2
    bundle = load_bundle(summary.multilingual_bundle)
    assert summary.multilingual_bundle == experiment / "multilingual_bundle" and bundle.architecture == "wav2vec2_ctc"
    assert yaml.safe_load((experiment / "target/config.yaml").read_text())["transfer"]["init_from"] == str(summary.multilingual_bundle)
    report = json.loads((experiment / "target/output_transfer.json").read_text())
    assert "<blank>" in report["copied"]  # stage 3's output layer came from stage 2's
    recorded = yaml.safe_load((experiment / "config.yaml").read_text())
    assert recorded["target"]["data"]["language"] == "example_language" and "init_from" not in recorded["target"]["transfer"]


def test_a_stage_folder_set_by_hand_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="target.transfer.init_from is set by the recipe itself"):
        run(f"experiment_dir={tmp_path}", "target.transfer.init_from=elsewhere")
