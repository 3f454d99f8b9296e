"""Reports: self-contained HTML pages (no network access needed to read them)."""
