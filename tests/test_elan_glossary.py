"""Word/gloss pairs from ELAN files made with pympi, written as a dictionary the LM transfer reads."""
from __future__ import annotations

import hashlib

import pympi
import pytest
from click.testing import CliRunner

from fieldasr.cli import cli
from fieldasr.data.elan_glossary import read_glossary
from fieldasr.errors import AnnotationError
from fieldasr.files import OutputExistsError
from fieldasr.transfer.dictionary import read_bilingual_dictionary

# (start ms, end ms, word, gloss under it by reference, gloss included in it by time); None: no gloss annotation
WORDS = [(0, 400, "o", "el", "el"), (400, 900, "homem", "hombre", "hombre"), (900, 1300, "come", "come", None),
         (1300, 1600, "um", "", "un"), (1600, 2200, "pão", "pan", "pan"), (2200, 2600, "o", "el", "el")]


def make_eaf(path):
    eaf = pympi.Elan.Eaf(author="test")
    eaf.add_linguistic_type("words", timealignable=True)
    eaf.add_linguistic_type("gloss", constraints="Symbolic_Association", timealignable=False)
    eaf.add_linguistic_type("gloss-included", constraints="Included_In", timealignable=True)
    eaf.add_linguistic_type("morphemes", constraints="Symbolic_Subdivision", timealignable=False)
    eaf.add_tier("words@A", ling="words")
    eaf.add_tier("gloss@A", ling="gloss", parent="words@A")
    eaf.add_tier("gloss-included@A", ling="gloss-included", parent="words@A")
    eaf.add_tier("morphemes@A", ling="morphemes", parent="words@A")
    for start, end, word, gloss, included in WORDS:
        eaf.add_annotation("words@A", start, end, word)
        if gloss is not None:
            eaf.add_ref_annotation("gloss@A", "words@A", start + 1, gloss)
        if included is not None:
            eaf.add_annotation("gloss-included@A", start + 10, end - 10, included)
    eaf.add_annotation("gloss-included@A", 1610, 1700, "bread")  # a second gloss inside 'pão'
    pympi.Elan.to_eaf(str(path), eaf)
    return path


@pytest.fixture()
def eaf_file(tmp_path):
    return make_eaf(tmp_path / "session.eaf")


def test_symbolic_association_glosses_pair_with_their_word(eaf_file):
    glossary = read_glossary([eaf_file], "gloss@A", "words@A")
    assert glossary.pairs == (("el", "o"), ("hombre", "homem"), ("come", "come"), ("pan", "pão"))
    assert (glossary.words, glossary.unglossed, glossary.several_glosses, glossary.repeated) == (6, 1, 0, 1)


def test_included_in_glosses_pair_by_time_and_several_glosses_are_counted(eaf_file):
    glossary = read_glossary([eaf_file], "gloss-included@A", "words@A")
    assert glossary.pairs == (("el", "o"), ("hombre", "homem"), ("un", "um"))
    assert (glossary.unglossed, glossary.several_glosses, glossary.repeated) == (1, 1, 1)  # come; pão; o again


def test_tiers_that_do_not_pair_are_refused_with_the_files_tiers(eaf_file):
    with pytest.raises(AnnotationError, match="no tier 'glosses'.*'gloss@A'"):
        read_glossary([eaf_file], "glosses", "words@A")
    with pytest.raises(AnnotationError, match="Symbolic_Subdivision"):
        read_glossary([eaf_file], "morphemes@A", "words@A")
    with pytest.raises(AnnotationError, match="not a child of 'gloss@A'"):
        read_glossary([eaf_file], "gloss-included@A", "gloss@A")


def test_cli_writes_a_dictionary_the_transfer_reads_and_leaves_the_eaf_alone(eaf_file, tmp_path):
    before = hashlib.sha256(eaf_file.read_bytes()).hexdigest()
    output = tmp_path / "pairs.tsv"
    arguments = ["transfer", "glossary", str(eaf_file), "--tier", "gloss@A", "--parent-tier", "words@A", "-o", str(output)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    assert "4 gloss/word pairs from 6 words" in result.output
    assert read_bilingual_dictionary(output) == [("el", "o"), ("hombre", "homem"), ("come", "come"), ("pan", "pão")]
    assert hashlib.sha256(eaf_file.read_bytes()).hexdigest() == before
    again = CliRunner().invoke(cli, arguments)
    assert isinstance(again.exception, OutputExistsError)
    onto_source = CliRunner().invoke(cli, [*arguments[:-1], str(eaf_file), "--overwrite"])
    assert isinstance(onto_source.exception, OutputExistsError)
    assert hashlib.sha256(eaf_file.read_bytes()).hexdigest() == before


def test_an_eaf_without_elan_s_schema_attribute_is_read_and_left_alone(tmp_path):
    """Other tools write .eaf files without xsi:noNamespaceSchemaLocation (pympi alone fails on them with a KeyError);
    the layout below is one such tool's (a web annotator's ELAN export), compact, no MEDIA_DESCRIPTOR."""
    path = tmp_path / "talk.eaf"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-01-01T00:00:00Z" FORMAT="3.0" '
        'VERSION="3.0">\n  <HEADER TIME_UNITS="milliseconds"/>\n  <TIME_ORDER>\n    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="0"/>\n'
        '    <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="3000"/>\n  </TIME_ORDER>\n  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="words">\n'
        '    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2"><ANNOTATION_VALUE>hello'
        '</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>\n  </TIER>\n  <TIER LINGUISTIC_TYPE_REF="gloss" PARENT_REF="words" '
        'TIER_ID="gloss">\n    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a2" ANNOTATION_REF="a1"><ANNOTATION_VALUE>greeting'
        '</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>\n  </TIER>\n  <LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>\n'
        '  <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" LINGUISTIC_TYPE_ID="gloss" TIME_ALIGNABLE="false"/>\n'
        '</ANNOTATION_DOCUMENT>\n', encoding="utf-8")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(KeyError):
        pympi.Elan.Eaf(str(path))  # the failure this guards against
    glossary = read_glossary([path], "gloss", "words")
    assert glossary.pairs == (("greeting", "hello"),)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
