"""What the render talks to: the engine protocol and the registry of engines."""
