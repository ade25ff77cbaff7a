"""fieldasr: speech recognition for endangered and under-resourced languages."""
__version__ = "0.1.0"
