"""The AIR framework (columns, constraints written once, bus interactions) and the chips."""
