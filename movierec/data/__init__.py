"""Getting, parsing, validating, caching and splitting MovieLens-1M."""
