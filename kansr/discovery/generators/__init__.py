"""Structure generators: each proposes formulas into a :class:`~kansr.discovery._state.Search`."""
