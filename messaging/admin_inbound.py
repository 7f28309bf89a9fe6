"""Admin for inbound messages (issue #4)."""
