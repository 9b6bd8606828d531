"""Points: the ledger, awards, shop, tiers, badges, achievements and leaderboards."""
