"""Domain errors: a stable code and parameters, never user-facing text (adapters render them)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, **params: Any) -> None:
        super().__init__(f"{self.code} {params}")
        self.params = params


class InvalidLedgerEntry(DomainError):
    code = "ledger.invalid"


class StorageConflict(DomainError):
    """The database aborted a transaction that may succeed if run again (deadlock, serialization)."""

    code = "storage.conflict"


class StorageRejected(Exception):
    """The database refused the data itself (a value too long, a broken constraint): running it again
    would fail the same way, unlike an unavailable database or a ``StorageConflict``."""


class InsufficientBalance(DomainError):
    """Storage refused a debit that would take a balance below zero (a concurrent spend got there first)."""

    code = "shop.not_enough_now"
