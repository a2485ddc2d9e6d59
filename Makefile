# Quick start: `make demo` and `make test`; each sets itself up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := samples/briefing.mp4
# Debian packages holding the real media the tests check content against.
TEST_MEDIA := ffmpeg opencv-doc alsa-utils espeak-ng fonts-dejavu-core

.PHONY: demo test test-media lint install clean

$(BIN)/vidkg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/vidkg

demo: install
	$(BIN)/vidkg ingest $(SAMPLE)
	$(BIN)/vidkg videos list
	$(BIN)/vidkg db status

test-media:
	@if ! command -v ffmpeg >/dev/null \
	   || [ ! -e /usr/share/doc/opencv-doc/examples/data/vtest.avi ] \
	   || [ ! -e /usr/share/sounds/alsa/Front_Center.wav ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $(TEST_MEDIA) >/dev/null; \
	  else \
	    echo "the tests need Debian media: sudo apt-get install $(TEST_MEDIA)"; exit 1; \
	  fi; \
	fi

test: install test-media
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
