"""fieldasr as an ELAN recognizer: a folder for ELAN's extensions (`folder`), ELAN's protocol (`protocol`) and
the run ELAN starts (`run`, as `python -m fieldasr.elan_recognizer BUNDLE`). Importing this package is cheap:
the model and torch are loaded only inside a run, so a broken installation still answers ELAN."""
