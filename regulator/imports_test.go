package regulator

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps doc.go's promise: of jinlian, the regulator imports
// only wire (transactions and events), ledger, permission, gmcrypto, the
// generated protobuf types and internal/memo (bounded caches); never
// consensus or api, which cmd/jinlian wires in.
func TestImports(t *testing.T) {
	allowed := map[string]bool{"wire": true, "ledger": true, "permission": true, "gmcrypto": true, "proto/txpb": true, "internal/memo": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(path, "github.com/jinlian-ledger/jinlian/"); ok && !allowed[rest] {
				t.Errorf("%s imports %s: the regulator may import wire, ledger, permission, gmcrypto and internal/memo only", name, path)
			}
		}
	}
}
