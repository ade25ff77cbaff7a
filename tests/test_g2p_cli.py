"""`fieldasr g2p` and `fieldasr inventory` on text and manifests."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fieldasr.cli import cli
from fieldasr.data import Segment, read_segments, write_manifest


def test_g2p_prints_phones_and_reports_uncovered_characters() -> None:
    result = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--word-boundaries", "Kia ora", "Xena"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["k i a | o ɾ a", "e n a"]
    assert "no rule covers 'x'" in result.stderr


def test_g2p_fills_manifest_phones_and_inventory_reads_them(tmp_path: Path) -> None:
    source = tmp_path / "segments.jsonl"
    write_manifest(source, [
        Segment("s1", "r1", 0.0, 1.0, text="Kia ora", language="mi"),
        Segment("s2", "r1", 1.0, 1.0, text="", language="mi"),
        Segment("s3", "r1", 2.0, 1.0, text="whānau", language="mi", custom={"tier": "mi"}),
    ])
    out = tmp_path / "with_phones.jsonl.gz"
    lexicon = tmp_path / "lexicon.txt"
    runner = CliRunner()
    result = runner.invoke(cli, ["g2p", "--spec", "mi", "--manifest", str(source), "--out", str(out), "--lexicon", str(lexicon)])
    assert result.exit_code == 0, result.output
    segments = list(read_segments(out))
    assert [segment.phones for segment in segments] == [("k", "i", "a", "o", "ɾ", "a"), None, ("f", "aː", "n", "a", "u")]
    assert segments[2].custom == {"tier": "mi"}
    assert lexicon.read_text(encoding="utf-8").splitlines() == ["kia\tk i a", "ora\to ɾ a", "whānau\tf aː n a u"]
    table = runner.invoke(cli, ["inventory", str(out)])
    assert table.exit_code == 0, table.output
    first_rows = table.stdout.splitlines()
    assert first_rows[0].split()[:3] == ["phone", "total", "mi"]
    assert first_rows[1].split()[:3] == ["a", "3", "3"]  # kia, ora, whānau (aː is another phone)
    assert "1 segments without phones" in table.stderr


def test_g2p_bad_usage_and_unknown_spec(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["g2p", "--spec", "mi"]).exit_code != 0
    result = runner.invoke(cli, ["g2p", "--spec", "nonexistent", "text"])
    assert result.exit_code != 0 and "Available:" in str(result.exception)


def test_word_boundaries_never_go_into_the_lexicon(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.txt"
    result = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--word-boundaries", "--lexicon", str(lexicon), "kia ora"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "k i a | o ɾ a"
    assert lexicon.read_text(encoding="utf-8").splitlines() == ["kia\tk i a", "ora\to ɾ a"]


def test_a_lexicon_from_a_manifest_alone_and_boundaries_only_in_the_phones(tmp_path: Path) -> None:
    source = tmp_path / "segments.jsonl"
    write_manifest(source, [Segment("s1", "r1", 0.0, 1.0, text="Kia ora", language="mi"),
                            Segment("s2", "r1", 1.0, 1.0, text="ora whānau", language="mi")])
    lexicon = tmp_path / "lexicon.txt"
    result = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--word-boundaries", "--manifest", str(source), "--lexicon", str(lexicon)])
    assert result.exit_code == 0, result.output
    assert lexicon.read_text(encoding="utf-8").splitlines() == ["kia\tk i a", "ora\to ɾ a", "whānau\tf aː n a u"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lexicon.txt", "segments.jsonl"]  # the manifest untouched
    out = tmp_path / "with_phones.jsonl"
    both = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--word-boundaries", "--manifest", str(source), "--out", str(out),
                                    "--lexicon", str(tmp_path / "again.txt")])
    assert both.exit_code == 0, both.output
    assert [segment.phones for segment in read_segments(out)][0] == ("k", "i", "a", "|", "o", "ɾ", "a")
    assert (tmp_path / "again.txt").read_text(encoding="utf-8") == lexicon.read_text(encoding="utf-8")
    neither = CliRunner().invoke(cli, ["g2p", "--spec", "mi", "--manifest", str(source)])
    assert neither.exit_code != 0 and "--out" in neither.output and "--lexicon" in neither.output
