"""The rep's screens: "my deals", the deal page, recording stage changes and observations."""
