"""Touches and responses (issue 19): what the team did to a prospect, whether the prospect
answered by the team's definition of a response for that tactic, and which tactics earn answers.

- ingest.py: a batch of touches validated whole and written atomically (API, import, browser);
- services.py: the team's tactics, their response rules, a rep's one-tap touch and its answer;
- selectors.py: the deal's recent touches, and the counts behind the tactics page;
- funnel.metrics.tactics: the pure arithmetic (rates, intervals, verdicts).
"""
