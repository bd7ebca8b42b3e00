"""The seeds' studies: reproductions, ablations and the demo builds (a layer above training and
analysis; nothing below imports it)."""
