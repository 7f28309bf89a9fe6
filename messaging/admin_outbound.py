"""Admin for outbound messages and opt-outs (issue #2)."""
