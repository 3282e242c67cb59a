"""Openly licensed fonts shipped with rettid (DejaVu Sans, see LICENSE-DejaVu.txt)."""
