"""Built-in column mappings for the licence-register importer (TOML files read with importlib.resources)."""
