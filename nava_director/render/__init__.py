"""Rendering: what shapes a shot, each shot's take, running the jobs (on one process or
several), the take commands. ``render.run.render`` is the entry point."""
