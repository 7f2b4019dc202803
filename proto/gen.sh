#!/usr/bin/env bash
# Regenerates the Go code for proto/. Needs protoc (Debian: protobuf-compiler)
# and protoc-gen-go v1.36.7:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.7
set -euo pipefail
cd "$(dirname "$0")"
protoc -I . --go_out=. --go_opt=module=github.com/jinlian-ledger/jinlian/proto jinlian/tx/v1/*.proto
