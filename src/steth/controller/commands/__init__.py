"""CLI commands; each module holds the commands of one noun."""
