"""Output formatters registered with cliff (entry points `cliff.formatter.list`)."""
