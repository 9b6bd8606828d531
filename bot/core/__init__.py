"""Core: the shared kernel every capability uses (ports, errors, limits, retry, announcements)."""
