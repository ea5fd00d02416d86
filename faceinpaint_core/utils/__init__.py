"""Small shared helpers: atomic writes, hashing, seeding, provenance."""
