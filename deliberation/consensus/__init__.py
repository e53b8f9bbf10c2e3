"""Opinion groups and consensus statistics: pure computation on plain arrays, no Flask."""
