"""jobctl's HTTP API for applications (`jobctl api`): FastAPI over the same Python API as the CLI.

`app.create_app()` builds the application; `routes` holds the /api/jobs routes, `auth` the
bearer tokens and per-organisation rate limit, `schemas` the request/response models (the job
payload contracts of jobctl.domain.payloads appear in /openapi.json as they are), `errors` the
mapping of jobctl's errors to status codes. Nothing here is imported by `jobctl --help`.
"""
