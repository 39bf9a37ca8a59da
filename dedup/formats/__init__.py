"""Format readers: one module per format, registered by suffix in ``dedup.sources``."""
