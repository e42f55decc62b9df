"""The STARK protocol over many tables of different heights (DEEP-ALI + FRI, LogUp bus)."""
