"""Words at the edge: escaping per channel, certificate summaries, the reproduce line."""
