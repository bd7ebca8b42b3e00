"""Widgets that show the workspace and change it only through its methods."""
