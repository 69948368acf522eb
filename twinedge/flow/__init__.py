"""Flow stages, each a function from input artifacts to output artifacts in build/<design>/."""
