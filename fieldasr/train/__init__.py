"""Training: one Trainer for every task (ssl, ctc, lm); each task returns a TaskOutput."""
