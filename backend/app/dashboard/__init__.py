"""What the dashboard needs to know of this deployment at run time."""
