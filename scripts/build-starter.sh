#!/usr/bin/env bash
# npm run starter: rebuild data/models/starter/ from the corpora on npm, with our own commands.
# STARTER_OUT=DIR writes the model elsewhere (to compare a rebuild, e.g. on another backend, with the shipped one);
# RLHF_BACKEND=native|wasm|... picks the backend (default auto); STARTER_CONFIG=FILE another recipe
# (data/models/starter-gpt2.sft.json: the former GPT-2-layout starter, see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.rlhf/starter-build
rm -rf "$B"
mkdir -p "$B"
rlhf() { node bin/rlhf.js "$@"; }
start=$(date +%s)
rlhf tokenizer train --corpus sotu --corpus moby-dick --vocab-size 4096 --out "$B/tokenizer"
rlhf sft --config "${STARTER_CONFIG:-data/models/starter.sft.json}" --backend "${RLHF_BACKEND:-auto}"
OUT="${STARTER_OUT:-data/models/starter}"
rlhf convert --model "$B/sft/final" --out "$OUT" --dtype f16
node --import tsx scripts/starter-report.ts "$OUT" "$B" "$(( $(date +%s) - start ))"
