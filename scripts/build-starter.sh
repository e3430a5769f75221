#!/usr/bin/env bash
# npm run starter: rebuild data/models/starter/ from the corpora on npm, with our own commands.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.rlhf/starter-build
rm -rf "$B"
mkdir -p "$B"
rlhf() { node bin/rlhf.js "$@"; }
start=$(date +%s)
rlhf tokenizer train --corpus sotu --corpus moby-dick --vocab-size 4096 --out "$B/tokenizer"
rlhf sft --config data/models/starter.sft.json --backend "${RLHF_BACKEND:-auto}"
rlhf convert --model "$B/sft/final" --out data/models/starter --dtype f16
node --import tsx scripts/starter-report.ts data/models/starter "$B" "$(( $(date +%s) - start ))"
