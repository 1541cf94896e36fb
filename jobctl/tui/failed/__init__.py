"""The failed view (`:failed`): failures grouped by type + error class + message, for triage."""
