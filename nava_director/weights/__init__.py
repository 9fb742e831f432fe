"""The NAVA weights on the user's machine: downloading the release (``download``); checking a
folder and choosing its DiT file live in the engine (``engine.weights_check``, ``engine.dit_choice``)."""
