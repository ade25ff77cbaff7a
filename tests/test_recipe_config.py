"""Recipe settings: every shipped YAML loads, mistakes are named with their file and key, nothing is written before."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fieldasr.ssl import recipe as continued_pretraining
from fieldasr.ssl import staged_recipe
from fieldasr.ssl.recipe import read_continued_pretraining_recipe
from fieldasr.train.config import ConfigError, read_recipe
from fieldasr.train.recipe import main
from fieldasr.train.recipe_config import ctc_settings, load_ctc_recipe, read_ctc_recipe
from fieldasr.transfer import recipe as lm_transfer
from fieldasr.transfer.recipe import read_lm_transfer_recipe

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
READERS = {"continued_pretraining": (read_continued_pretraining_recipe, continued_pretraining.resolved_settings),
           "lm_transfer": (read_lm_transfer_recipe, lm_transfer.resolved_settings),
           "xlsr_finetune": (staged_recipe.read_staged_recipe, staged_recipe.resolved_settings)}


def recipe_files() -> list[Path]:
    return sorted(RECIPES.glob("*/hparams/*.yaml"))


@pytest.mark.parametrize("path", recipe_files(), ids=lambda path: str(path.relative_to(RECIPES)))
def test_every_shipped_recipe_file_loads_and_its_resolved_settings_too(path, tmp_path):
    read, resolved = READERS.get(path.parent.parent.name, (read_ctc_recipe, ctc_settings))
    recipe = read(read_recipe(path))
    assert recipe.experiment_dir
    written = tmp_path / "config.yaml"  # what the experiment folder gets: it must give back the same recipe
    written.write_text(yaml.safe_dump(resolved(recipe), allow_unicode=True))
    assert read(read_recipe(written)) == recipe


def test_recipe_folders_are_all_known():
    """A new recipe folder must say which reader checks it (CTC unless listed in READERS)."""
    kinds = {path.parent.parent.name for path in recipe_files()}
    assert kinds >= {"ctc", "multilingual", "transfer", "demo"} | set(READERS)


@pytest.fixture
def recipe(tmp_path) -> Path:
    (tmp_path / "recipe").mkdir()
    (tmp_path / "recipe" / "base.yaml").write_text(
        "experiment_dir: exp/base\ndata:\n  train: corpus\n  speed_factors: [1, 1.1]\nmodel:\n  size: tiny\n"
        "trainer:\n  lr: 1e-3\n  log_formats: [csv]\n")
    (tmp_path / "recipe" / "lang.yaml").write_text("base: base.yaml\nexperiment_dir: exp/lang\n")
    return tmp_path / "recipe" / "lang.yaml"


def load(path: Path, *overrides: str):
    return read_ctc_recipe(read_recipe(path, overrides))


def test_types_are_converted_and_defaults_filled_in(recipe):
    loaded = load(recipe, "trainer.max_steps=2", "trainer.clip_norm=1")
    assert loaded.data.speed_factors == (1.0, 1.1) and isinstance(loaded.data.speed_factors[0], float)
    assert loaded.trainer.lr == 0.001  # YAML 1.1 reads `1e-3` as text; a number field takes it as the number
    assert loaded.trainer.clip_norm == 1.0 and isinstance(loaded.trainer.clip_norm, float)
    assert loaded.trainer.log_formats == ("csv",) and loaded.trainer.experiment_dir == Path("exp/lang")
    assert loaded.model.architecture == "conformer_ctc" and loaded.model.config["hidden_size"] == 64  # the tiny size
    settings = ctc_settings(loaded)
    assert settings["data"]["max_batch_duration"] == 60.0 and settings["trainer"]["nonfinite_patience"] == 3
    assert "experiment_dir" not in settings["trainer"]


def test_resolved_settings_load_again_unchanged(recipe, tmp_path):
    loaded = load(recipe, "model.config.num_layers=3")
    written = tmp_path / "resolved.yaml"
    written.write_text(yaml.safe_dump(ctc_settings(loaded)))
    assert load(written) == loaded


@pytest.mark.parametrize("override, expected", [
    ("data.trian=x", r"lang.yaml, --set data.trian=x: data.trian is not a setting .* Did you mean 'train'\?"),
    ("model.szie=3", r"--set model.szie=3: model.szie is not a setting .* Did you mean 'size'\?"),
    ("experment_dir=x", r"experment_dir is not a setting .* Did you mean 'experiment_dir'\?"),
    ("trainer.lr=fast", r"trainer.lr: 'fast' is not a number\."),
    ("trainer.max_steps=2.5", r"trainer.max_steps: 2.5 is not a whole number or null\."),
    ("trainer.progress_bar=maybe", r"trainer.progress_bar: 'maybe' is not true or false\."),
    ("data.speed_factors=1.0", r"data.speed_factors: 1.0 is not a list of numbers"),
    ("model.architecture=conformer", r"model.architecture: 'conformer' is not one of .* Did you mean 'conformer_ctc'\?"),
    ("model.size=base", r"model.size: 'base' is not one of 'tiny', 'small' for conformer_ctc"),
    ("model.config.hiden_size=8", r"model.config.hiden_size is not a Conformer model setting. Did you mean 'hidden_size'\?"),
    ("model.config.hidden_size=big", r"model.config.hidden_size: 'big' is not a whole number"),
    ("trainer.precision=fp61", r"trainer.precision: 'fp61' is not one of 'fp32', 'bf16', 'fp16'"),
    ("trainer.lr_decay=linear", r"trainer: lr_decay 'linear' decays to zero at max_steps"),
    ("trainer.experiment_dir=x", r"trainer.experiment_dir is set by the recipe itself"),
    ("data.train=null", r"data.train is not set. Set data.train to a folder holding recordings.jsonl.gz"),
    ("data.label_unit=subwords", r"data.label_unit is subwords: set data.subword_model"),
    ("trainer.lr", r"--set 'trainer.lr' must look like key.subkey=value"),
    ("data.train.folder=x", r"data.train is a value, not a section"),
])
def test_mistakes_name_the_file_the_key_and_the_fix(recipe, override, expected):
    with pytest.raises(ConfigError, match=expected):
        load(recipe, override)


def test_a_mistake_is_blamed_on_the_file_that_holds_it(recipe):
    (recipe.parent / "base.yaml").write_text("experiment_dir: x\ndata: {train: corpus, trian: corpus}\n")
    with pytest.raises(ConfigError, match=r"base.yaml \(the base of lang.yaml\): data.trian"):
        load(recipe)
    (recipe.parent / "base.yaml").write_text("experiment_dir: x\ndata: {train: corpus}\n")
    recipe.write_text("base: base.yaml\nmodel:\n  architecture: wav2vec2_ctc\n  config: {hidden_size: 32, num_hiden_layers: 1}\n")
    with pytest.raises(ConfigError, match=r"^.*lang.yaml: model.config.num_hiden_layers is not a wav2vec 2.0 .* 'num_hidden_layers'"):
        load(recipe)


def test_a_pretrained_checkpoint_takes_fine_tuning_overrides_only(recipe):
    with pytest.raises(ConfigError, match=r"model.config.hidden_size is not a fine-tuning override .* only mask_time_prob"):
        load(recipe, "model.architecture=wav2vec2_ctc", "model.pretrained=models/xlsr", "model.config={hidden_size: 8}")
    overrides = {"mask_time_prob": 0.05, "layerdrop": 0.1, "hidden_dropout": 0.1}
    given = load(recipe, "model.architecture=wav2vec2_ctc", "model.pretrained=models/xlsr", f"model.config={overrides}")
    assert given.model.config == overrides
    assert load(recipe, "model.architecture=wav2vec2_ctc", "model.pretrained=models/xlsr", "model.config=null").model.config == {}


@pytest.mark.parametrize("setting", ["model.gradient_checkpointing=true", "model.mms_adapter=eng", "model.pretrained=models/xlsr"])
def test_wav2vec2_settings_are_refused_for_a_conformer(recipe, setting):
    with pytest.raises(ConfigError, match=rf"{setting.split('=')[0]} is a wav2vec2_ctc setting; conformer_ctc does not use it"):
        load(recipe, "model.architecture=conformer_ctc", setting)


def test_a_frozen_encoder_is_refused_for_a_bilstm(recipe):
    with pytest.raises(ConfigError, match=r"model.freeze_encoder_steps: bilstm_ctc has no pretrained encoder to keep frozen"):
        load(recipe, "model.architecture=bilstm_ctc", "model.freeze_encoder_steps=5")
    assert load(recipe, "model.architecture=conformer_ctc", "model.freeze_encoder_steps=5").model.freeze_encoder_steps == 5


def test_a_base_that_does_not_resolve_says_where_it_looked(recipe, tmp_path):
    copied = tmp_path / "elsewhere" / "mine.yaml"
    copied.parent.mkdir()
    copied.write_text(recipe.read_text())
    with pytest.raises(ConfigError) as error:
        load(copied)
    message = str(error.value)
    assert "relative to the YAML file that names it" in message and str(tmp_path / "elsewhere" / "base.yaml") in message
    assert "copy base.yaml next to it" in message


def test_missing_files_are_found_before_anything_is_written(recipe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"data.train: the folder corpus \(relative to .*\) does not exist"):
        load_ctc_recipe(recipe)
    (tmp_path / "corpus").mkdir()
    with pytest.raises(ConfigError, match=r"data.train: corpus: no recordings.jsonl"):
        main([str(recipe)])
    for name in ("recordings.jsonl", "segments.jsonl"):
        (tmp_path / "corpus" / name).write_text("")  # only their presence is checked up front
    for override, key in [("transfer.init_from=bundle", "transfer.init_from"), ("data.g2p_spec=g2p/xx.yaml", "data.g2p_spec"),
                          ("data.valid=dev", "data.valid"), ("transfer.nearest_phones=corpus", "transfer.nearest_phones: the file corpus .* is a folder")]:
        with pytest.raises(ConfigError, match=key):
            main([str(recipe), "--set", override])
    assert not (tmp_path / "exp").exists()


def test_continued_pretraining_sections_are_checked(tmp_path):
    hparams = RECIPES / "continued_pretraining/hparams/example_language.yaml"
    with pytest.raises(ConfigError, match=r"pretraining.max_step is not a setting .* Did you mean 'max_steps'\?"):
        read_continued_pretraining_recipe(read_recipe(hparams, ["pretraining.max_step=3"]))
    with pytest.raises(ConfigError, match=r"fine_tuning.model.pretrained is set by the recipe itself"):
        read_continued_pretraining_recipe(read_recipe(hparams, ["fine_tuning.model.pretrained=x"]))
    with pytest.raises(ConfigError, match=r"pretraining.options: pretraining options: mask_probability must be in"):
        read_continued_pretraining_recipe(read_recipe(hparams, ["pretraining.options.mask_probability=2"]))
    loaded = read_continued_pretraining_recipe(read_recipe(hparams, ["pretraining.lr=1"]))
    assert loaded.pretraining.lr == 1.0 and loaded.pretraining.clip_norm == 5.0  # continue_pretraining's default
    assert loaded.fine_tuning.trainer.experiment_dir == Path("exp/continued_pretraining/example_language/ctc")


def test_lm_transfer_sections_are_checked():
    hparams = RECIPES / "lm_transfer/hparams/pt_from_es.yaml"
    with pytest.raises(ConfigError, match=r"transfer.method: 'wechel' is not one of .* Did you mean 'wechsel'\?"):
        read_lm_transfer_recipe(read_recipe(hparams, ["transfer.method=wechel"]))
    with pytest.raises(ConfigError, match=r"pretraining.batchsize is not a setting .* Did you mean 'batch_size'\?"):
        read_lm_transfer_recipe(read_recipe(hparams, ["pretraining.batchsize=3"]))
    assert read_lm_transfer_recipe(read_recipe(hparams)).pretraining.weight_decay == 0.01


def test_recipe_script_reports_a_mistake_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, str(RECIPES / "ctc/train.py"), str(RECIPES / "ctc/hparams/demo_en.yaml"),
                             "--set", "trainer.lr=fast", "--set", f"experiment_dir={tmp_path / 'exp'}"],
                            capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "demo_en.yaml, --set trainer.lr=fast: trainer.lr: 'fast' is not a number" in result.stderr
    assert not (tmp_path / "exp").exists()


def test_continued_pretraining_and_lm_transfer_write_nothing_when_a_file_is_missing(tmp_path):
    from fieldasr.ssl.recipe import main as pretraining_main
    from fieldasr.transfer.recipe import main as lm_main

    with pytest.raises(ConfigError, match=r"pretraining.source: the folder .*models/xlsr-53 does not exist"):
        pretraining_main([str(RECIPES / "continued_pretraining/hparams/base.yaml"), "--set", f"experiment_dir={tmp_path / 'ssl'}",
                          "--set", f"pretraining.source={tmp_path / 'models/xlsr-53'}"])
    with pytest.raises(ConfigError, match=r"data.train_text: the file .*train.txt .* does not exist"):
        lm_main([str(RECIPES / "lm_transfer/hparams/pt_from_es.yaml"), "--set", f"experiment_dir={tmp_path / 'lm'}"])
    assert not (tmp_path / "ssl").exists() and not (tmp_path / "lm").exists()
