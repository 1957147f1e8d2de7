"""Backlinks: imports of the link exports people have (Ahrefs, Semrush, Majestic, Search
Console), streamed from disk on the `low` queue, and reads of the merged backlinks."""
