# The DIDS Stream services image (streams worker, sink, simulator, HL7 listener, CLI).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
# the locked, hash-checked dependencies first (a layer that changes only with the lock)
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY dids ./dids
COPY schemas ./schemas
COPY producers ./producers
COPY streams ./streams
COPY sinks ./sinks
COPY deploy ./deploy
RUN pip install --no-cache-dir --no-deps .
ENTRYPOINT ["dids"]
