package gmcrypto

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's promises in doc.go: nothing of jinlian is
// imported, and tjfoc/gmsm (slow; see docs/guomi.md) appears in tests and,
// for GM TLS only, in gmtls.go.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		isTest := strings.HasSuffix(name, "_test.go")
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.HasPrefix(path, "github.com/jinlian-ledger/jinlian/"):
				t.Errorf("%s imports %s: gmcrypto imports nothing of jinlian", name, path)
			case strings.HasPrefix(path, "github.com/tjfoc/") && !isTest && name != "gmtls.go":
				t.Errorf("%s imports %s: tjfoc/gmsm is for tests and gmtls.go only", name, path)
			}
		}
	}
}
