"""One test module per fixed bug: each test fails without its fix (process-compose habit)."""
