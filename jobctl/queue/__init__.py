"""Redis side: connection, producer, runner (RQ entry point), worker, stats."""
