"""A team's stages: the writes that change them (the models live in funnel.models.team)."""
