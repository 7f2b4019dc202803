#!/usr/bin/env bash
# Regenerates the committed Ethereum artifacts of the checkpoint anchor:
#   Verifier.sol            gnark's Groth16 verifier for the checkpoint keys
#   build/*.abi, build/*.bin  solc output (solc-js pinned in package.json)
#   bindings/*.go           abigen Go bindings
#   build/manifest.json     SHA-256 of sources and outputs, compiler version
# artifacts_test.go (go test ./contracts/ethereum) fails when the committed
# files disagree with each other or with the manifest, and recompiles when
# node and the pinned solc are installed.
#
# Usage: contracts/ethereum/gen.sh [--keys DIR] [--slots N]
# Without --keys it uses the INSECURE development keys (made if absent, in
# the cache directory; ~20-40 s). For a real deployment pass the keys of
# the MPC ceremony (docs/checkpoints.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
keys="" slots=8
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    *) echo "gen.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

cd "$root"
if [ -n "$keys" ]; then
  go run ./consensus/prover/internal/genverifier -slots "$slots" -keys "$keys" -out "$here/Verifier.sol"
else
  go run ./consensus/prover/internal/genverifier -slots "$slots" -dev -out "$here/Verifier.sol"
fi

cd "$here"
[ -d node_modules/solc ] || npm install --no-audit --no-fund --no-package-lock
node compile.js

abigen="go run github.com/ethereum/go-ethereum/cmd/abigen@v1.17.8"
command -v abigen >/dev/null && abigen --version 2>/dev/null | grep -q 1.17.8 && abigen=abigen
mkdir -p bindings
$abigen --abi build/CheckpointAnchor.abi --bin build/CheckpointAnchor.bin --pkg bindings --type CheckpointAnchor --out bindings/checkpoint_anchor.go
$abigen --abi build/Verifier.abi --bin build/Verifier.bin --pkg bindings --type Verifier --out bindings/verifier.go

solc_version="$(node -e 'console.log(require("solc").version())')"
{
  echo "{"
  echo "  \"solc\": \"$solc_version\","
  echo "  \"sha256\": {"
  first=1
  for f in Verifier.sol CheckpointAnchor.sol compile.js build/Verifier.abi build/Verifier.bin build/CheckpointAnchor.abi build/CheckpointAnchor.bin; do
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": "%s"' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
  done
  echo
  echo "  }"
  echo "}"
} > build/manifest.json
echo "gen.sh: regenerated Verifier.sol, build/ and bindings/ ($solc_version)"
