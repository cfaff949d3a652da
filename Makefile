# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install system-deps run test lint bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

install: $(INSTALLED) system-deps

# OCR needs Debian's tesseract-ocr. Installed where we can (root with apt);
# elsewhere text PDFs still work and scanned pages fail saying how to install it.
system-deps:
	@command -v tesseract >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; \
	  else \
	    echo "tesseract not found: OCR of scanned pages will fail (sudo apt-get install tesseract-ocr)"; \
	  fi; }

run: install
	$(BIN)/conveyor dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Each prints its figures and ratios; together they take several minutes.
bench: install
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.ai_tasks
	$(BIN)/python -m bench.docs
	$(BIN)/python -m bench.email_sequence

clean:
	rm -rf $(VENV) .state .pytest_cache .mypy_cache .ruff_cache
