"""The Typer CLI. Importing this package must stay cheap: heavy imports happen inside commands."""
