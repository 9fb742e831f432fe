"""The embedded NAVA engine: a library that knows nothing of storyboards."""
