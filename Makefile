# The two commands of the README:  `make up` (the whole pipeline locally)  and  `make test`.
# Everything installs into .venv on first use; Kafka jars are fetched with Maven into .cache/.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up down status test lint clean

$(STAMP): pyproject.toml requirements.lock
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  echo "Java and Maven are needed for the local Kafka broker: apt-get install -y openjdk-17-jre-headless maven"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock  # every package pinned and hash-checked
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/dids broker --fetch-only
	@touch $(STAMP)

install: $(STAMP)

up: $(STAMP)  ## start Kafka, ClickHouse engine, stream worker, sink and simulator in the background
	$(BIN)/dids up --simulate

down:
	$(BIN)/dids down

status:
	$(BIN)/dids status

test: $(STAMP)  ## unit tests + integration tests against a real broker and ClickHouse engine
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -ra

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .dids .pytest_cache .ruff_cache
