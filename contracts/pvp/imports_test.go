package pvp_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps doc.go's promise: pvp reaches payments and the
// permission registry only through the interfaces it declares (Bank,
// Registry), never by importing them; contracts never import each other.
func TestImports(t *testing.T) {
	allowed := map[string]bool{"ledger": true, "gmcrypto": true, "internal/errs": true, "proto/txpb": true, "wire": true}
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
				t.Errorf("%s imports %s: pvp may import ledger, gmcrypto, internal/errs, proto/txpb and wire only", name, path)
			}
		}
	}
}
