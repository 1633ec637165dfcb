//! A throwaway `redis-server` (see the issue adding queue-consumer).
