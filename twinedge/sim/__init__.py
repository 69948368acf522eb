"""Network simulator: device models, equilibrium solver, Coupled Learning, error modes."""
