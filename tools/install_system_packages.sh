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
  [chromium]=chromium        # headless check that the HTML evaluation report renders
)
declare -A NEEDED_LIBS=(
  [libsndfile.so.1]=libsndfile1
  [libespeak-ng.so.1]=libespeak-ng1
)

missing=()
for command in "${!NEEDED[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${NEEDED[$command]}")
done
for library in "${!NEEDED_LIBS[@]}"; do
  ldconfig -p 2>/dev/null | grep -q "$library" || missing+=("${NEEDED_LIBS[$library]}")
done
for package in ${FIELDASR_EXTRA_APT:-}; do
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
