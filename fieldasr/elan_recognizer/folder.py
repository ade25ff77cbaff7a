"""A recognizer folder for ELAN's `extensions` folder: the CMDI description, run.sh (Linux, macOS), run.bat
(Windows), help.html, and a copy of the model bundle, so the folder works on its own.

ELAN starts run.sh / run.bat in the folder with an empty environment (no PATH, C locale). The wrappers set
PATH, a UTF-8 locale and unbuffered Python output, then run the Python that had fieldasr installed when the
folder was written (recorded as an absolute path, with the folder fieldasr was imported from). If that Python
is gone, they look for another one that can import fieldasr; if none can, they answer ELAN with
`RESULT: FAILED.` and say what to do.
"""
from __future__ import annotations

import re
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape as html_escape
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import fieldasr
from fieldasr.elan_recognizer.protocol import (CONFIDENCE_TIER, DECODER, DECODERS, PHONE_TIER, SEGMENTATION, SOURCE,
                                               TRANSCRIPTIONS, UNIT_CHOICES, UNITS, WORD_TIER)
from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_directory

CMDI_PROFILE = "clarin.eu:cr1:p_1430905751617"
BUNDLE_FOLDER = "bundle"
# Where a Python with fieldasr is looked for when the recorded one no longer works (shell words, in this order).
FALLBACK_PYTHONS = ("$(command -v python3)", "/usr/local/bin/python3", "/opt/homebrew/bin/python3", "/usr/bin/python3", "$HOME/.local/bin/python3",
                    "$HOME/miniforge3/bin/python3", "$HOME/miniconda3/bin/python3", "$HOME/anaconda3/bin/python3")
NO_PYTHON = ("no Python with fieldasr installed was found (tried the one recorded when this recognizer was made, {recorded}, "
             "then the usual places). Install fieldasr (pip install fieldasr), then make this folder again from that "
             "environment: fieldasr elan-recognizer BUNDLE --out FOLDER --overwrite")  # no quotes: echoed by sh and cmd


@dataclass(frozen=True)
class RecognizerFolder:
    path: Path
    identifier: str
    name: str
    python: Path
    decoders: tuple[str, ...]


def recognizer_identifier(name: str) -> str:
    """ELAN's unique id of a recognizer: ASCII letters, digits and underscores ("Māori demo" → fieldasr_Maori_demo)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "fieldasr_" + (re.sub(r"\W+", "_", ascii_name, flags=re.ASCII).strip("_") or "model")


def cmdi_xml(identifier: str, name: str, decoders: Sequence[str], label_unit: str) -> str:
    labels = "phones" if label_unit == "phones" else "letters" if label_unit == "characters" else "subword pieces"
    decoder_help = ("greedy: the model alone; beam: with the bundle's lexicon and language model" if len(decoders) > 1
                    else "greedy (the bundle has no lexicon or language model for beam search)")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<CMD CMDVersion="1.1" xmlns="http://www.clarin.eu/cmd/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="http://www.clarin.eu/cmd/ http://catalog.clarin.eu/ds/ComponentRegistry/rest/registry/profiles/{CMDI_PROFILE}/xsd">
    <Header></Header>
    <Resources>
        <ResourceProxyList></ResourceProxyList>
        <JournalFileProxyList></JournalFileProxyList>
        <ResourceRelationList></ResourceRelationList>
    </Resources>
    <Components>
        <RECOGNIZER>
            <recognizer recognizerType="local" runLinux="./run.sh" runMac="./run.sh" runWin="cmd.exe /c run.bat"
                info={quoteattr(f"fieldasr: {name}")}>{escape(identifier)}</recognizer>
            <documentation>help.html</documentation>
            <input level="basic" type="audio" optional="false" mimetypes="audio/x-wav"
                info="Recording to transcribe">{SOURCE}</input>
            <input level="basic" type="tier" optional="true" mimetypes="text/xml"
                info="Segmentation tier: transcribe inside its annotations only (none: wherever speech is found)">{SEGMENTATION}</input>
            <input level="advanced" type="tier" optional="true" mimetypes="text/xml"
                info="Existing transcriptions: segments they overlap are skipped (this tier is not changed)">{TRANSCRIPTIONS}</input>
            <textparam level="basic" convoc={quoteattr(" ".join(decoders))} default="greedy"
                info={quoteattr(f"Decoder ({decoder_help})")}>{DECODER}</textparam>
            <textparam level="basic" convoc={quoteattr(" ".join(UNIT_CHOICES))} default="both"
                info="Which output tiers to write">{UNITS}</textparam>
            <output level="basic" type="tier" optional="true" mimetypes="text/xml"
                info={quoteattr(f"Phone tier: the model's {labels}, one annotation per segment")}>{PHONE_TIER}</output>
            <output level="basic" type="tier" optional="true" mimetypes="text/xml"
                info="Word tier: the words, one annotation per segment">{WORD_TIER}</output>
            <output level="basic" type="tier" optional="true" mimetypes="text/xml"
                info="Confidence tier: 0-1 per segment; correct the lowest first">{CONFIDENCE_TIER}</output>
        </RECOGNIZER>
    </Components>
</CMD>
"""


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def run_sh(python: Path, source: Path, fallbacks: Sequence[str]) -> str:
    candidates = " ".join(f'"{candidate}"' for candidate in fallbacks) or '""'
    failure = NO_PYTHON.format(recorded="$FIELDASR_PYTHON")
    return f"""#!/bin/sh
# ELAN recognizer written by `fieldasr elan-recognizer` (fieldasr {fieldasr.__version__}); see help.html.
# ELAN starts it in this folder with an empty environment (no PATH, C locale), so set those first.
PATH=/usr/local/bin:/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin
case "$(uname -s)" in Darwin) LC_ALL=en_US.UTF-8 ;; *) LC_ALL=C.UTF-8 ;; esac
LANG=$LC_ALL
PYTHONUTF8=1
PYTHONIOENCODING=utf-8
PYTHONUNBUFFERED=1
export PATH LC_ALL LANG PYTHONUTF8 PYTHONIOENCODING PYTHONUNBUFFERED
HERE=$(cd "$(dirname "$0")" && pwd)

# The Python that ran fieldasr when this folder was made, and the folder that fieldasr was imported from.
FIELDASR_PYTHON={_sh_quote(str(python))}
FIELDASR_SOURCE={_sh_quote(str(source))}

if [ -x "$FIELDASR_PYTHON" ] && PYTHONPATH="$FIELDASR_SOURCE" "$FIELDASR_PYTHON" -c "import fieldasr" >/dev/null 2>&1; then
    PYTHONPATH="$FIELDASR_SOURCE"
    export PYTHONPATH
    exec "$FIELDASR_PYTHON" -m fieldasr.elan_recognizer "$HERE/{BUNDLE_FOLDER}" 2>&1
fi
unset PYTHONPATH
for candidate in {candidates}; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c "import fieldasr" >/dev/null 2>&1; then
        echo "fieldasr: $FIELDASR_PYTHON no longer runs fieldasr; using $candidate instead."
        exec "$candidate" -m fieldasr.elan_recognizer "$HERE/{BUNDLE_FOLDER}" 2>&1
    fi
done
echo "fieldasr: {failure}"
echo "RESULT: FAILED."
exit 1
"""


def run_bat(python: Path, source: Path) -> str:
    failure = NO_PYTHON.format(recorded="%FIELDASR_PYTHON%")
    lines = [
        "@echo off",
        f"rem ELAN recognizer written by `fieldasr elan-recognizer` (fieldasr {fieldasr.__version__}); see help.html.",
        "rem ELAN starts it in this folder with an empty environment: set UTF-8 output and unbuffered Python first.",
        "chcp 65001 >nul",
        "set PYTHONUTF8=1",
        "set PYTHONIOENCODING=utf-8",
        "set PYTHONUNBUFFERED=1",
        'set "HERE=%~dp0"',
        "rem The Python that ran fieldasr when this folder was made, and the folder that fieldasr was imported from.",
        f'set "FIELDASR_PYTHON={python}"',
        f'set "FIELDASR_SOURCE={source}"',
        'if exist "%FIELDASR_PYTHON%" (',
        '    set "PYTHONPATH=%FIELDASR_SOURCE%"',
        '    "%FIELDASR_PYTHON%" -c "import fieldasr" >nul 2>&1 && (',
        f'        "%FIELDASR_PYTHON%" -m fieldasr.elan_recognizer "%HERE%{BUNDLE_FOLDER}" 2>&1',
        "        exit /b",
        "    )",
        ")",
        'set "PYTHONPATH="',
        "for %%P in (py.exe python.exe python3.exe) do (",
        "    %%P -c \"import fieldasr\" >nul 2>&1 && (",
        "        echo fieldasr: %FIELDASR_PYTHON% no longer runs fieldasr; using %%P instead.",
        f'        %%P -m fieldasr.elan_recognizer "%HERE%{BUNDLE_FOLDER}" 2>&1',
        "        exit /b",
        "    )",
        ")",
        f"echo fieldasr: {failure}",
        "echo RESULT: FAILED.",
        "exit /b 1",
    ]
    return "\r\n".join(lines) + "\r\n"


def help_html(name: str, identifier: str, bundle: Path, label_unit: str, decoders: Sequence[str], python: Path) -> str:
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    beam = ("<li><b>decoder</b>: <i>greedy</i> (the model alone) or <i>beam</i> (with the bundle's lexicon and language model).</li>"
            if len(decoders) > 1 else "<li><b>decoder</b>: <i>greedy</i> (this bundle has no lexicon or language model).</li>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fieldasr: {html_escape(name)}</title></head>
<body>
<h1>fieldasr: {html_escape(name)}</h1>
<p>Speech recognition with the fieldasr model bundle <code>{html_escape(str(bundle))}</code> ({html_escape(label_unit)}),
copied into this folder. Made on {created} by fieldasr {fieldasr.__version__}; recognizer id <code>{html_escape(identifier)}</code>.</p>
<h2>Inputs</h2>
<ul>
<li><b>{SOURCE}</b>: the recording.</li>
<li><b>{SEGMENTATION}</b> (optional): a tier whose annotations mark the stretches to transcribe, e.g. your phrase
segmentation. Without it, fieldasr transcribes wherever it detects speech.</li>
<li><b>{TRANSCRIPTIONS}</b> (optional): a tier with transcriptions you already have. Segments they overlap are
skipped; this tier is never changed.</li>
</ul>
<h2>Parameters</h2>
<ul>
{beam}
<li><b>units</b>: <i>phones</i>, <i>words</i> or <i>both</i>: which output tiers are written.</li>
</ul>
<h2>Outputs</h2>
<ul>
<li><b>{PHONE_TIER}</b>: one annotation per segment with speech, holding the model's labels separated by spaces.</li>
<li><b>{WORD_TIER}</b>: one annotation per segment with speech, holding the words.</li>
<li><b>{CONFIDENCE_TIER}</b> (optional, written whatever <i>units</i> says): one annotation per segment with speech, holding
how sure the model is, from 0 to 1. It ranks segments (correct the least certain first); it is not a probability of
being right.</li>
</ul>
<p>Segments without speech get no annotation. Correct the suggestions in ELAN; fieldasr never changes your tiers.</p>
<h2>When it fails</h2>
<p>The recognizer's log in ELAN shows fieldasr's message. It runs the Python at <code>{html_escape(str(python))}</code>;
if that environment was removed, it looks for another Python with fieldasr installed. To repair it, run
<code>fieldasr elan-recognizer BUNDLE --out FOLDER --overwrite</code> again from a working fieldasr installation and
restart ELAN.</p>
</body></html>
"""


def write_recognizer_folder(bundle: Path, out: Path, *, name: str | None = None, overwrite: bool = False,
                            python: Path | None = None, fallback_pythons: Sequence[str] = FALLBACK_PYTHONS) -> RecognizerFolder:
    """Write the recognizer folder `out` for `bundle` (checked first, then copied in), atomically.

    `python` (default: the running interpreter) is the Python the wrappers run; the folder fieldasr is imported
    from now is recorded with it, so the recognizer runs this very fieldasr."""
    from fieldasr.bundle import read_bundle_description, verify_bundle_files

    description = read_bundle_description(bundle)
    verify_bundle_files(description)
    name = name or Path(bundle).resolve().name
    identifier = recognizer_identifier(name)
    decoders = DECODERS if description.path("lexicon") or description.path("language_model") else DECODERS[:1]
    python = Path(python or sys.executable).absolute()
    if not python.is_file():
        raise FieldasrError(f"{python}: no such Python interpreter. Give the Python that has fieldasr installed with --python.")
    source = Path(fieldasr.__file__).resolve().parent.parent
    with atomic_directory(out, overwrite=overwrite) as staging:
        shutil.copytree(bundle, staging / BUNDLE_FOLDER)
        (staging / f"{identifier}.cmdi").write_text(cmdi_xml(identifier, name, decoders, description.label_unit), encoding="utf-8")
        (staging / "run.sh").write_text(run_sh(python, source, fallback_pythons), encoding="utf-8")
        (staging / "run.sh").chmod(0o755)
        (staging / "run.bat").write_bytes(run_bat(python, source).encode("utf-8"))
        (staging / "help.html").write_text(help_html(name, identifier, Path(bundle).resolve(), description.label_unit, decoders, python),
                                           encoding="utf-8")
    return RecognizerFolder(Path(out), identifier, name, python, decoders)
