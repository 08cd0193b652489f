#!/bin/bash
# prepare.sh : build here what the GPU run needs and the machine lacks, then print the device command.
#
# Into benchmarks/gpu/.wheels/ (git-ignored; it travels as a carried path): the ComfyUI 0.27.0 tarball and
# Python 3.12 manylinux wheels (no dependencies resolved: exactly the list below) of what ComfyUI and the
# worker import that the GPU machine's image does not hold (its package list: .library/device/KINDS.md).
# Not carried: torch, torchvision, torchaudio (the machine's own), the frontend, template and docs
# packages (ComfyUI starts without them given --front-end-root), and optional imports the LTX-2 graphs do
# not use (PyOpenGL, comfy-angle, kornia, spandrel; brotli and aiodns for aiohttp): 64 MiB travel in all.
# The tarball is repacked without ComfyUI's own tests and the tokenizer data of other model families
# (LTX-2's Gemma tokenizer comes from the text encoder file): 7.0 MB -> about 2 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=benchmarks/gpu/.wheels
TARBALL="${COMFYUI_TARBALL:-../shared/comfyui/real/comfyui-0.27.0-ffbecff.tar.gz}"
rm -rf "$W"; mkdir -p "$W"
SLIM="$(mktemp -d)"; trap 'rm -rf "$SLIM"' EXIT
tar -xzf "$TARBALL" -C "$SLIM"
tar -czf "$W/comfyui-0.27.0-ffbecff-slim.tar.gz" -C "$SLIM" --exclude='ComfyUI/tests-unit' --exclude='ComfyUI/tests' \
  --exclude='ComfyUI/comfy/sd1_tokenizer' --exclude='ComfyUI/comfy/text_encoders/*_tokenizer' ComfyUI
# ComfyUI's requirements the image lacks, then the worker's (requirements.txt) and their import-time needs.
COMFY=(torchsde==0.2.6 trampoline==0.1.2 alembic==1.18.4 Mako==1.3.10 SQLAlchemy==2.0.44 greenlet==3.2.4
       av==18.1.0 comfy-kitchen==0.2.16 comfy-aimdo==0.4.10 simpleeval==1.0.3 blake3==1.0.8
       pydantic==2.12.5 pydantic-core==2.41.5 pydantic-settings==2.12.0
       annotated-types==0.7.0 typing-inspection==0.4.2 python-dotenv==1.2.1)
WORKER=(jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==0.30.0
        jsonpatch==1.33 jsonpointer==3.0.0 runpod==1.12.0 aiohttp-retry==2.9.1 backoff==2.2.1
        tomli==2.3.0 tomlkit==0.13.3 tqdm-loggable==0.2 paramiko==4.0.0 invoke==2.2.1 bcrypt==5.0.0
        pynacl==1.6.1 cryptography==46.0.3 cffi==2.0.0 pycparser==2.23 rfc3339-validator==0.1.4)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d "$W" "${COMFY[@]}" "${WORKER[@]}"
python3 - "$W" <<'PY'
import os, subprocess, sys
wheels = sum(os.path.getsize(os.path.join(sys.argv[1], f)) for f in os.listdir(sys.argv[1]))
files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True).stdout.split(b"\0")
tree = sum(os.path.getsize(f) for f in files if f and os.path.isfile(f))
print(f"carried {wheels / 2**20:.1f} MiB + working tree {tree / 2**20:.1f} MiB = {(wheels + tree) / 2**20:.1f} MiB (limit 64)")
PY
echo
echo "device run (the run tool's arguments):"
echo '  command:   bash benchmarks/gpu/device.sh'
echo '  carry:     ["benchmarks/gpu/.wheels"]'
echo '  timeout_s: 600   (the script ends itself after 9 minutes: BENCH_BUDGET_S=540)'
