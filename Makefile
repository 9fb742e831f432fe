# make demo : set everything up, then render storyboards/demo.yaml into storyboards/demo.nava/film.mp4
# make test : set everything up (with test dependencies and vLLM's venv), then run the whole suite
.PHONY: setup setup-dev demo test test-fast

setup:
	scripts/setup.sh

setup-dev:
	scripts/setup.sh --dev

demo: setup
	.venv/bin/nava-director render storyboards/demo.yaml

test: setup-dev
	.venv/bin/python -m pytest

test-fast: setup-dev
	.venv/bin/python -m pytest -m "not slow"
