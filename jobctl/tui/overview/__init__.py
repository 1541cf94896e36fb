"""The queues view (`:queues`, the start page): counts per queue, throughput, workers."""
