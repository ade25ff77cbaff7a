"""Makes this folder the package `fieldasr.recipes` inside an installed fieldasr (see setup.py), so the
recipes travel in the wheel; `fieldasr.resources.find_recipe` finds them by name. Holds no code."""
