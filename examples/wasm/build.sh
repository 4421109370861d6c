#!/usr/bin/env bash
# Builds the example user ops of examples/*.edgeflow that are written in C, for the
# WASI ABI, with Debian's clang and wasi-libc:
#   apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32-wasi -O2 -Wall -Werror -o canary.wasm canary.c
echo "built $(pwd)/canary.wasm"
