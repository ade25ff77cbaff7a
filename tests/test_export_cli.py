"""`fieldasr export`: an experiment folder (as recipes write it) → a verified, self-contained bundle; the
summary lists every file and each lexicon line left out; --strict refuses them."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch
from click.testing import CliRunner

from fieldasr.bundle import load_bundle, write_experiment_model
from fieldasr.cli import cli
from fieldasr.g2p import get_g2p, load_spec
from fieldasr.models import TINY_CONFORMER, ConformerCTC
from fieldasr.text import Vocabulary

torch.set_num_threads(1)
MAORI = Vocabulary(tuple("<blank> <unk> | a e i o u aː f h k m n p t w ŋ ɾ".split()))


def write_experiment(folder: Path, *, g2p_spec: str | None = None, checkpoints: int = 1) -> Path:
    """What a phone recipe leaves in its experiment folder: model.json, tokens.txt and `checkpoints` checkpoints."""
    torch.manual_seed(0)
    model = ConformerCTC(TINY_CONFORMER, len(MAORI))
    write_experiment_model(folder, model, MAORI, {"label_unit": "phones", "language": "mi", "g2p_spec": g2p_spec})
    for number in range(1, checkpoints + 1):
        checkpoint = folder / "checkpoints" / f"CKPT+{number:03d}"
        checkpoint.mkdir(parents=True)
        torch.save({f"model.{name}": tensor for name, tensor in model.state_dict().items()}, checkpoint / "task.ckpt")
        (checkpoint / "CKPT.yaml").write_text(f"token_error_rate: {1.0 / number}\n")
    return folder


def write_maori_spec(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(load_spec("mi").rules_path, folder / "mi.rules")
    shutil.copy(load_spec("mi").path, folder / "mi.yaml")
    return folder / "mi.yaml"


def test_export_summary_lists_files_and_bad_lexicon_lines_then_strict_refuses(tmp_path):
    spec = write_maori_spec(tmp_path / "spec")
    experiment = write_experiment(tmp_path / "exp", g2p_spec=str(spec), checkpoints=2)
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("kia\tk i a\nora\nkia ora\tk i a | o ɾ a\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(experiment), str(tmp_path / "bundle"), "--lexicon", str(lexicon)])
    assert result.exit_code == 0, result.output
    assert "g2p.rules" in result.output and "model.safetensors" in result.output
    assert "1 entries kept, 2 bad line(s) left out" in result.output and "line 3: 'kia ora" in result.output
    strict = runner.invoke(cli, ["export", str(experiment), str(tmp_path / "strict"), "--lexicon", str(lexicon), "--strict"])
    assert strict.exit_code != 0 and "2 bad lines" in str(strict.exception) and not (tmp_path / "strict").exists()
    shutil.rmtree(tmp_path / "spec")  # the bundle does not need the originals
    bundle = load_bundle(tmp_path / "bundle")
    assert get_g2p(load_spec(bundle.g2p_spec)).phonemize(["whānau"]).phones == (("f", "aː", "n", "a", "u"),)
