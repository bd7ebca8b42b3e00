"""vispy visuals (arrays only, no workspace) and their thin layer adapters."""
