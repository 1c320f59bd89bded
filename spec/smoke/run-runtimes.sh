#!/usr/bin/env bash
# Bun and Deno smoke legs (CI): each runtime runs src/main.ts directly and must pass the smoke,
# then runs the in-process test server (effect-jetstream/testing) itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUN="$(pwd)/node_modules/.bin/bun"
DENO="$(pwd)/node_modules/.bin/deno"
echo "smoke: $("$BUN" --version | sed 's/^/bun /'), $("$DENO" --version | head -1)"
npx tsx spec/smoke/RuntimeSmoke.ts bun "$BUN" src/main.ts
npx tsx spec/smoke/RuntimeSmoke.ts deno "$DENO" run --allow-all --quiet src/main.ts
"$BUN" spec/smoke/TestServerSmoke.ts
"$DENO" run --allow-all --quiet spec/smoke/TestServerSmoke.ts
