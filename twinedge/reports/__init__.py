"""Reports: task metrics, plots (energy, area and HTML reports join here)."""
