"""Pandera schemas, asset checks built from them, and the release gate."""
