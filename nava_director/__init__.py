"""nava-director: a YAML storyboard in, a short film with synchronized picture and sound out."""

__version__ = "0.1.0"
