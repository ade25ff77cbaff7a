"""Every recipe runs 2 steps on tiny espeak-ng data; configs merge base + overrides; export → bundle."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from train_data import bilingual_corpus, english_corpus, spoken_corpus  # noqa: F401  (fixtures)

from fieldasr.bundle import load_bundle
from fieldasr.cli import cli
from fieldasr.train.config import ConfigError, load_config
from fieldasr.train.recipe import main

torch.set_num_threads(1)
RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TWO_STEPS = ["trainer.max_steps=2", "trainer.progress_bar=false", "trainer.warmup_steps=0"]


def run_recipe(hparams: Path, experiment: Path, train: Path, *extra: str):
    overrides = [f"experiment_dir={experiment}", f"data.train={train}", *TWO_STEPS, *extra]
    return main([str(hparams), *[item for override in overrides for item in ("--set", override)]])


def test_config_merges_base_overrides_and_command_line(tmp_path):
    (tmp_path / "base.yaml").write_text("a: {b: 1, c: 2}\nd: [1, 2]\ntext: 'keep $this literally'\n")
    (tmp_path / "lang.yaml").write_text("base: base.yaml\na: {c: 3}\n")
    config = load_config(tmp_path / "lang.yaml", ["a.b=0.5", "d=[3]", "new.key=yes"])
    assert config == {"a": {"b": 0.5, "c": 3}, "d": [3], "text": "keep $this literally", "new": {"key": True}}
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="loop"):
        load_config(tmp_path / "loop.yaml")


def test_monolingual_recipe_then_export_and_load(english_corpus, tmp_path):
    english_corpus.save(tmp_path / "data")
    experiment = tmp_path / "exp"
    overrides = [f"experiment_dir={experiment}", f"data.train={tmp_path / 'data'}", f"data.valid={tmp_path / 'data'}",
                 "data.speed_factors=[1.0, 1.1]", *TWO_STEPS]
    arguments = ["train", str(RECIPES / "ctc/hparams/demo_en.yaml"), *[x for o in overrides for x in ("--set", o)]]
    result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0 and "done: 2 steps" in result.output, result.output
    recorded = yaml.safe_load((experiment / "config.yaml").read_text())
    assert recorded["model"]["size"] == "tiny" and recorded["trainer"]["max_steps"] == 2
    # Every effective setting is recorded, defaults included (here, none of them is in the YAML files).
    assert recorded["trainer"]["optimizer"] == "adamw" and "language_balance_alpha" in recorded["data"] and recorded["data"]["language_balance_alpha"] is None
    assert recorded["model"]["config"]["hidden_size"] == 48  # the tiny wav2vec 2.0's
    assert (experiment / "command.txt").is_file()
    result = CliRunner().invoke(cli, ["export", str(experiment), str(tmp_path / "bundle")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.architecture == "wav2vec2_ctc" and bundle.language == "en"
    assert bundle.vocabulary.tokens == tuple((experiment / "tokens.txt").read_text().split())


def test_multilingual_recipes_and_crosslingual_transfer(bilingual_corpus, tmp_path):
    bilingual_corpus.save(tmp_path / "data")
    experiment = tmp_path / "multi"
    summary = run_recipe(RECIPES / "multilingual/hparams/base.yaml", experiment, tmp_path / "data",
                         "data.valid=null", "model.size=tiny", "data.max_batch_duration=10")
    assert summary.optimizer_steps == 2
    assert "trainer.max_steps=2" in (experiment / "command.txt").read_text()
    assert yaml.safe_load((experiment / "config.yaml").read_text())["data"]["language_balance_alpha"] == 0.5
    adapters = run_recipe(RECIPES / "multilingual/hparams/wav2vec2_adapters.yaml", tmp_path / "adapters", tmp_path / "data",
                          "data.valid=null", "model.size=tiny", "data.max_batch_duration=10")
    assert adapters.optimizer_steps == 2
    CliRunner().invoke(cli, ["export", str(experiment), str(tmp_path / "multi_bundle")], catch_exceptions=False)

    target = spoken_corpus(tmp_path / "es_audio", {"es": ["el perro come carne", "la casa es roja"]})
    target.save(tmp_path / "es")
    source_tokens = set(load_bundle(tmp_path / "multi_bundle").vocabulary.tokens)
    unseen = sorted({p for s in target.segments for p in s.phones} - source_tokens)
    assert unseen, "Spanish should bring phones the en+de model never saw"
    nearest = tmp_path / "nearest.yaml"
    nearest.write_text(yaml.safe_dump({unseen[0]: ["a", 0.25]}, allow_unicode=True))
    transfer = run_recipe(RECIPES / "transfer/hparams/example_language.yaml", tmp_path / "transfer", tmp_path / "es",
                          f"transfer.init_from={tmp_path / 'multi_bundle'}", f"transfer.nearest_phones={nearest}",
                          "data.speed_factors=[]")
    assert transfer.optimizer_steps == 2
    report = json.loads((tmp_path / "transfer/output_transfer.json").read_text())
    assert report["initialised_from"] == {unseen[0]: ["a", 0.25]}
    assert set(report["mean_initialised"]) == set(unseen[1:])
    assert "<blank>" in report["copied"]

    # By default every unseen phone starts from its panphon feature-nearest phone of the source model. With the
    # encoder frozen for both steps, only the output layer moves away from the bundle's.
    run_recipe(RECIPES / "transfer/hparams/example_language.yaml", tmp_path / "transfer_default", tmp_path / "es",
               f"transfer.init_from={tmp_path / 'multi_bundle'}", "data.speed_factors=[]", "model.freeze_encoder_steps=2")
    CliRunner().invoke(cli, ["export", str(tmp_path / "transfer_default"), str(tmp_path / "es_bundle")], catch_exceptions=False)
    # (Batch-norm statistics in the Conformer blocks do follow the new language's audio: buffers, not weights.)
    source, adapted = (dict(load_bundle(tmp_path / name).model.named_parameters()) for name in ("multi_bundle", "es_bundle"))
    assert all(torch.equal(source[name], value) for name, value in adapted.items() if not name.startswith("head."))
    assert not torch.equal(source["head.weight"][:1], adapted["head.weight"][:1])  # <blank>, copied, then trained
    default = json.loads((tmp_path / "transfer_default/output_transfer.json").read_text())
    assert set(default["initialised_from"]) == set(unseen) and not default["mean_initialised"]
    assert all(phone in source_tokens for phone, _ in default["initialised_from"].values())


def test_zero_steps_saves_the_initial_model_and_labels_without_word_boundaries_are_flagged(english_corpus, tmp_path, caplog):
    """`--set trainer.max_steps=0` is the CLI route to a zero-shot bundle; a phone corpus without `|` is warned about
    before training, and `export --lexicon` refuses its model instead of beam decoding failing later."""
    without_boundaries = [segment.with_(phones=tuple(p for p in segment.phones if p != "|")) for segment in english_corpus.segments]
    type(english_corpus)(english_corpus.recordings, tuple(without_boundaries)).save(tmp_path / "data")
    experiment = tmp_path / "zero"
    overrides = [f"experiment_dir={experiment}", f"data.train={tmp_path / 'data'}", "data.valid=null", "model.size=tiny",
                 "trainer.max_steps=0", "trainer.progress_bar=false", "data.speed_factors=[]"]
    arguments = ["train", str(RECIPES / "multilingual/hparams/base.yaml"), *[x for o in overrides for x in ("--set", o)]]
    result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0 and "no training happened" in result.output, result.output
    assert "no word boundary '|'" in caplog.text and "--word-boundaries" in caplog.text
    assert "max_steps is 0, so no training happened" in caplog.text
    assert len(list((experiment / "checkpoints").glob("CKPT+*"))) == 1
    exported = CliRunner().invoke(cli, ["export", str(experiment), str(tmp_path / "bundle")], catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    assert load_bundle(tmp_path / "bundle").vocabulary.tokens == tuple((experiment / "tokens.txt").read_text().split())
    (tmp_path / "lexicon.txt").write_text("cat\tk æ t\n", encoding="utf-8")
    refused = CliRunner().invoke(cli, ["export", str(experiment), str(tmp_path / "beam"), "--lexicon", str(tmp_path / "lexicon.txt")])
    assert refused.exit_code != 0 and "no word boundary '|'" in str(refused.exception) and "--word-boundaries" in str(refused.exception)
    assert not (tmp_path / "beam").exists()
    # A later run with steps resumes from the saved initial model.
    resumed = CliRunner().invoke(cli, [*arguments, "--set", "trainer.max_steps=1"], catch_exceptions=False)
    assert resumed.exit_code == 0 and "done: 1 steps" in resumed.output, resumed.output

@pytest.mark.parametrize("preset", ["ctc/hparams/small_real_data.yaml", "ctc/hparams/small_real_data_bilstm.yaml"])
def test_small_real_data_presets_hold_out_a_dev_set_and_export_the_average(english_corpus, tmp_path, preset, capsys):
    english_corpus.save(tmp_path / "data")
    experiment = tmp_path / "exp"
    # Tiny model, 4 steps in epochs of 2 (batches of about 10 s): 2 validations, checkpoints to average.
    summary = run_recipe(RECIPES / preset, experiment, tmp_path / "data", "model.size=tiny", "model.config=null",
                         "trainer.max_steps=4", "data.max_batch_duration=10", "data.valid_fraction=0.25",
                         "trainer.average_best_checkpoints=2", "data.speed_factors=[]")
    assert summary.optimizer_steps == 4
    said = capsys.readouterr().out
    assert "no validation set given: held out" in said and "recording-disjoint" in said  # one speaker per recording, no speaker ids
    dev = (experiment / "dev_segments.txt").read_text().split()
    assert 0 < len(dev) < len(english_corpus.segments) and set(dev) <= {s.id for s in english_corpus.segments}
    assert summary.averaged_weights is not None and "averaged" in finished_line(summary)
    result = CliRunner().invoke(cli, ["export", str(experiment), str(tmp_path / "bundle")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    bundle = load_bundle(tmp_path / "bundle")
    averaged = torch.load(summary.averaged_weights, weights_only=True)
    assert torch.equal(bundle.model.head.weight, averaged["model.head.weight"])  # the export is the average, not one checkpoint


def finished_line(summary) -> str:
    from fieldasr.train.recipe import finished_message

    return finished_message(summary)
