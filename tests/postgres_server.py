"""The throwaway local PostgreSQL server for tests (conftest.py's `postgres_url`); the code lives in
`automation.local_services`, which `make run-cluster` uses too."""

from automation.local_services import fresh_database, local_postgres, postgres_bin_dir

__all__ = ["fresh_database", "local_postgres", "postgres_bin_dir"]
