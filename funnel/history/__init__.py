"""The audit history: who changed what, when, through what (browser, API, import, recompute)."""
