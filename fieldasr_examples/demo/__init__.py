"""The embedded demo, run by `make demo` (`python -m fieldasr_examples.demo`): from nothing to an ELAN transcription.

1. corpus: espeak-ng speaks UDHR text in five seen languages and in Māori, the target (`corpus`);
2. a multilingual phone CTC model (Conformer on filterbanks) learns the seen languages (`training`);
3. its output layer is transferred to the Māori phones and fine-tuned on a few minutes of labels;
4. a long held-out Māori recording is transcribed into an .eaf, the held-out test set is decoded (`results`);
5. PER/WER/CER before and after transfer go into an HTML report with the training curves (`evaluation`);
6. a summary of every stage's time and numbers, and where every output is (`summary`).
"""
from fieldasr_examples.demo.run import DemoLayout, run_demo
from fieldasr_examples.demo.settings import FULL, QUICK, DemoSettings
from fieldasr_examples.demo.summary import DemoSummary, StageResult

__all__ = ["FULL", "QUICK", "DemoLayout", "DemoSettings", "DemoSummary", "StageResult", "run_demo"]
