"""flowbuilder."""
