# syntax=docker/dockerfile:1.7
# LTX-2 video worker for RunPod serverless: pinned ComfyUI (no custom nodes) + this worker.
# Models are baked in (MODEL_WORKFLOWS), kept on a network volume, or fetched on first start.
#
#   docker build -t ltx2-worker .                                      # no models: network volume
#   docker build --build-arg MODEL_WORKFLOWS='*-fast' --build-arg ENABLED_WORKFLOWS='*-fast' \
#                --secret id=hf_token,env=HF_TOKEN -t ltx2-worker:fast .
#
# HF_TOKEN is a BuildKit secret, never a build argument (arguments stay in the image history).
# Without it, gated files (Gemma) are skipped at build and can be fetched on first start
# (DOWNLOAD_MODELS=1) into the network volume. Details: README.md, "Deploy".

FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04 AS base
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG PYTHON_VERSION=3.11.18
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_NO_CACHE=1 \
    HF_HUB_DISABLE_TELEMETRY=1
# Python from uv's pinned standalone builds (no apt, no compilers); two environments so ComfyUI's
# requirements and the worker's never constrain each other. uv is mounted, not copied into the image.
RUN --mount=from=ghcr.io/astral-sh/uv:0.13.9,source=/uv,target=/usr/local/bin/uv \
    uv python install "${PYTHON_VERSION}" \
    && uv venv --python "${PYTHON_VERSION}" /opt/comfyui-venv \
    && uv venv --python "${PYTHON_VERSION}" /opt/worker-venv

FROM base AS comfyui-source
ARG COMFYUI_COMMIT=ffbecfffb953914f5b4bd8f61d810ff2300631de
ADD https://github.com/comfyanonymous/ComfyUI/archive/${COMFYUI_COMMIT}.tar.gz /tmp/comfyui.tar.gz
RUN mkdir /comfyui \
    && tar -xzf /tmp/comfyui.tar.gz --strip-components=1 -C /comfyui \
    && rm -rf /tmp/comfyui.tar.gz /comfyui/tests /comfyui/tests-unit /comfyui/.github

FROM base AS runtime
# torch, torchvision and torchaudio: one matching CUDA 12.8 release, pinned. ComfyUI's own
# requirements then keep this torch (it satisfies their unpinned "torch").
RUN --mount=from=ghcr.io/astral-sh/uv:0.13.9,source=/uv,target=/usr/local/bin/uv \
    uv pip install --python /opt/comfyui-venv/bin/python --index-url https://download.pytorch.org/whl/cu128 \
        torch==2.9.1+cu128 torchvision==0.24.1+cu128 torchaudio==2.9.1+cu128
COPY --from=comfyui-source /comfyui /comfyui
COPY requirements.txt /app/requirements.txt
RUN --mount=from=ghcr.io/astral-sh/uv:0.13.9,source=/uv,target=/usr/local/bin/uv \
    uv pip install --python /opt/comfyui-venv/bin/python -r /comfyui/requirements.txt \
    && uv pip install --python /opt/worker-venv/bin/python -r /app/requirements.txt

FROM runtime AS models
# Which workflows' model files to bake in: names or patterns ("*-fast", "all"); empty bakes none.
ARG MODEL_WORKFLOWS=""
COPY engine/ /app/engine/
COPY deploy/ /app/deploy/
COPY spec/ /app/spec/
COPY templates/*.json /app/templates/
WORKDIR /app
RUN --mount=type=secret,id=hf_token,required=false \
    mkdir -p /models \
    && if [ -n "${MODEL_WORKFLOWS}" ]; then \
        HF_TOKEN_PATH=/run/secrets/hf_token /opt/worker-venv/bin/python -m engine models download \
            --workflows "${MODEL_WORKFLOWS}" --dest /models --skip-gated-without-token; \
    fi \
    && rm -rf /models/.downloads

FROM runtime
# Model layers first: a code change does not re-push tens of GB.
COPY --from=models /models /comfyui/models
WORKDIR /app
COPY handler.py test_input.json ./
COPY engine/ engine/
COPY worker/ worker/
COPY deploy/ deploy/
COPY spec/ spec/
COPY templates/*.json templates/
COPY docker/ docker/
ARG ENABLED_WORKFLOWS="ltx2-*"
ENV PATH=/opt/worker-venv/bin:${PATH} \
    COMFYUI_DIR=/comfyui \
    COMFYUI_PYTHON=/opt/comfyui-venv/bin/python \
    COMFYUI_EXTRA_MODEL_PATHS=/app/docker/extra_model_paths.yaml \
    COMFYUI_OUTPUT_DIR=/comfyui/output \
    COMFYUI_INPUT_DIR=/comfyui/input \
    ENABLED_WORKFLOWS=${ENABLED_WORKFLOWS}
CMD ["python", "-m", "deploy"]
