"""pinit benchmark harness: measures, rows (inits and supervisors), reports."""
