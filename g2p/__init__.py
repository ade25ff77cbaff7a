"""Makes this folder the package `fieldasr.g2p.specs` inside an installed fieldasr (see setup.py), so the
specs travel in the wheel; `fieldasr.resources.spec_folder()` finds them. Holds no code."""
