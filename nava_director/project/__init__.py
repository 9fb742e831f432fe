"""The project folder: takes, manifest, report, keys, atomic files and the lock."""
