"""Moderation: warnings, the guard, spam detection, welcomes, reports and cleanup."""
