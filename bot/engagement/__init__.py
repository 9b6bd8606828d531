"""Engagement: check-ins, thanks, shares, quiz points, draws and milestones."""
