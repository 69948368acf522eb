"""Verification back-ends behind one interface: DRC, LVS, post-layout checks (issue 3+)."""
