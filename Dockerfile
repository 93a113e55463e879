# The interviewer web app. Build: docker build -t interviewer .
# Run (embedded defaults: SQLite + local Chroma in /data, offline engine):
#   docker run -p 8000:8000 -v interviewer-data:/data interviewer
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY interviewer ./interviewer
RUN pip install --no-cache-dir --prefix=/install ".[postgres]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 interviewer
COPY --from=build /install /usr/local
WORKDIR /app
COPY knowledge ./knowledge
COPY prompts ./prompts
ENV INTERVIEWER_DATA_DIR=/data \
    INTERVIEWER_KNOWLEDGE_DIR=/app/knowledge \
    INTERVIEWER_PROMPTS_DIR=/app/prompts \
    TIKTOKEN_CACHE_DIR=/data/tiktoken \
    PYTHONUNBUFFERED=1
RUN mkdir -p /data && chown interviewer /data
USER interviewer
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
# ingest is idempotent: it embeds only what changed since the last start
CMD ["sh", "-c", "if [ -n \"$PROMETHEUS_MULTIPROC_DIR\" ]; then rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\"; fi; interviewer ingest && exec interviewer serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-1}"]
