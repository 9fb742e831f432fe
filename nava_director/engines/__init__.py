"""What render.py talks to: the engine protocol and the registry of engines."""
