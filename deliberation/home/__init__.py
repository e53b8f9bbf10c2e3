"""The public front pages: home and who takes part."""
