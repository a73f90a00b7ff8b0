# The DIDS Stream services image (streams worker, sink, simulator, HL7 listener, CLI).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dids ./dids
COPY schemas ./schemas
COPY producers ./producers
COPY streams ./streams
COPY sinks ./sinks
COPY deploy ./deploy
RUN pip install --no-cache-dir .
ENTRYPOINT ["dids"]
