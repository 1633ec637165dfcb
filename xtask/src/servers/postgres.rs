//! A throwaway PostgreSQL cluster (see the issue adding PostgreSQL to db-batch).
