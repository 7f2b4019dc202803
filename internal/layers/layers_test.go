package layers

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// helpers are the small shared packages below everything (DESIGN.md:
// internal/ "nothing above"); any package may import them.
var helpers = []string{"internal/errs", "internal/memo"}

// layers is the import table: a package directory of this module (or
// "dir/..." for it and every package below it; the longest match wins),
// and the packages of ours its non-test files may import ("dir/..." for a
// subtree, "*" for any). Test files are free: an e2e test of api starts a
// node. A package no entry matches fails the test, so a new package is
// placed in the table when it is added.
var layers = []struct {
	pkg   string
	allow []string
}{
	// The bottom: nothing of ours.
	{pkg: "gmcrypto"},
	{pkg: "nodecfg"},
	{pkg: "proto/..."},
	{pkg: "internal/..."},
	// internal/ca issues SM2 certificates for localnets and tests, so it
	// sits on gmcrypto, unlike the other helpers.
	{pkg: "internal/ca", allow: []string{"gmcrypto"}},
	// catest certifies keys for tests with internal/ca.
	{pkg: "internal/ca/catest", allow: []string{"internal/ca", "gmcrypto"}},

	{pkg: "ledger", allow: append([]string{"gmcrypto"}, helpers...)},

	// What goes on the wire (envelope, registry, typed events), shared by
	// app, contracts, regulator and CLI.
	{pkg: "wire", allow: append([]string{"proto/txpb", "gmcrypto"}, helpers...)},
	{pkg: "permission", allow: append([]string{"ledger", "gmcrypto"}, helpers...)},
	// What a movement of an account is (decoded from the typed events) and
	// the completeness commitment over an account's movements: shared by
	// payments (which keeps the commitment), app (which folds movements
	// into it) and recon (which lists and verifies them).
	{pkg: "movement", allow: append([]string{"wire", "proto/txpb", "gmcrypto"}, helpers...)},

	// Contracts never import each other, nor anything above them.
	{pkg: "contracts"}, // the package doc only
	{pkg: "contracts/...", allow: append([]string{"permission", "ledger", "wire", "movement", "proto/txpb", "gmcrypto"}, helpers...)},
	// custody, pvp and receivables reach payments and the permission registry only
	// through the interfaces they declare (Bank, Registry).
	{pkg: "contracts/custody", allow: append([]string{"ledger", "wire", "proto/txpb", "gmcrypto"}, helpers...)},
	{pkg: "contracts/pvp", allow: append([]string{"ledger", "wire", "proto/txpb", "gmcrypto"}, helpers...)},
	{pkg: "contracts/receivables", allow: append([]string{"ledger", "wire", "proto/txpb", "gmcrypto"}, helpers...)},
	// reserves reads payments through the Bank it declares; it has no messages.
	{pkg: "contracts/reserves", allow: append([]string{"ledger", "wire", "proto/txpb", "gmcrypto"}, helpers...)},
	{pkg: "contracts/ethereum/...", allow: []string{"contracts/ethereum/bindings"}},

	// The checkpoint core (gnark-crypto only), below the app.
	{pkg: "checkpoint", allow: []string{"gmcrypto"}},
	// The prover, its tools and the relay to Ethereum.
	{pkg: "consensus/prover/...", allow: []string{"checkpoint", "gmcrypto"}},
	{pkg: "consensus/prover/internal/genverifier", allow: []string{"consensus/prover"}},
	{pkg: "consensus/prover/relay/...", allow: []string{"checkpoint", "consensus/prover", "consensus/prover/relay", "contracts/ethereum/bindings", "gmcrypto"}},
	{pkg: "consensus/prover/checkpointtest", allow: []string{"checkpoint", "gmcrypto"}},
	// A CheckpointAnchor on a development chain, for the anchor readers'
	// tests only.
	{pkg: "consensus/prover/relay/anchortest", allow: []string{"checkpoint", "consensus/prover/relay", "consensus/prover/relay/devchain"}},

	// The state machine: never api, consensus, regulator or cmd.
	{pkg: "app", allow: append([]string{"wire", "movement", "checkpoint", "proto/txpb", "contracts/...", "permission", "ledger", "gmcrypto"}, helpers...)},

	// Proof bundles: built from a node's RPC, verified offline; above the
	// state machine (its query paths, VerifyQC), never api, consensus or node.
	{pkg: "proof", allow: append([]string{"app", "checkpoint", "contracts/...", "movement", "ledger", "permission", "wire", "proto/txpb", "gmcrypto"}, helpers...)},

	// Statements and reconciliation: read the chain through CometBFT's
	// types and the typed events; never app, api or consensus.
	{pkg: "recon", allow: append([]string{"wire", "movement", "proto/txpb", "gmcrypto"}, helpers...)},

	// The client API: never consensus, regulator or app (api/doc.go; the
	// design would allow app and permission). wire decodes the committed
	// transactions GET /v1/tx and /v1/txs serve.
	{pkg: "api", allow: append([]string{"gmcrypto", "movement", "nodecfg", "recon", "wire", "proto/txpb"}, helpers...)},

	// The web console: a client of the node's API (api.Node) and of an
	// observer's regulator API (regulator.Client), signing with wire; never
	// app, consensus, contracts or ledger (console/doc.go). recon gives the
	// statement's types.
	{pkg: "console", allow: append([]string{"api", "regulator", "proof", "movement", "wire", "recon", "proto/txpb", "gmcrypto"}, helpers...)},

	// The observer side: never consensus, api or cmd.
	{pkg: "regulator/...", allow: append([]string{"wire", "proto/txpb", "permission", "ledger", "gmcrypto"}, helpers...)},

	// Embedding CometBFT only (plus homes, keys and genesis files): the
	// design allows app and nodecfg; recon reads the block store and tx
	// index through it (statements.go).
	{pkg: "consensus", allow: append([]string{"app", "nodecfg", "recon"}, helpers...)},

	// Composing one node from its configuration: everything below.
	// The prover and relayer are not here: they are node/anchoring's,
	// which node runs as the jinlian-anchor process.
	{pkg: "node", allow: append([]string{"api", "app", "checkpoint", "consensus", "wire",
		"gmcrypto", "ledger", "nodecfg", "permission", "proof", "regulator"}, helpers...)},
	// Composing the checkpoint prover and relayer (gnark, go-ethereum) of
	// a node, which it reads over its RPC only: never node. Only
	// cmd/jinlian-anchor, development builds and tests import it.
	{pkg: "node/anchoring", allow: append([]string{"app", "checkpoint", "consensus", "consensus/prover", "consensus/prover/relay",
		"nodecfg"}, helpers...)},
	// The demo consortium of `jinlian localnet`: development only, on top
	// of node; no production package imports it.
	{pkg: "node/localnet", allow: append([]string{"node", "consensus", "app", "checkpoint", "contracts/...",
		"gmcrypto", "internal/ca", "nodecfg", "permission"}, helpers...)},
	// The one harness that starts a test's localnet: tests only.
	{pkg: "node/localnet/localnettest", allow: append([]string{"node", "node/localnet", "consensus", "internal/heavytest"}, helpers...)},

	// The binary and the e2e tests take everything.
	{pkg: "cmd/...", allow: []string{"*"}},
	{pkg: "test/...", allow: []string{"*"}},
}

// confined are outside imports that only the listed non-test files may
// make.
var confined = []struct {
	prefix string
	files  []string
	why    string
}{
	{"github.com/tjfoc/", []string{"gmcrypto/gmtls.go"}, "tjfoc/gmsm is slow (docs/guomi.md): tests and GM TLS only"},
}

// match reports whether the package or import path p is pattern, or is
// under it when pattern ends in "/...".
func match(pattern, p string) bool {
	if pattern == "*" || pattern == p {
		return true
	}
	dir, ok := strings.CutSuffix(pattern, "/...")
	return ok && (p == dir || strings.HasPrefix(p, dir+"/"))
}

// ruleFor is the index of the entry of layers for pkg: its own, else the
// longest "dir/..." above it; -1 when none.
func ruleFor(pkg string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		if l.pkg == pkg {
			return i
		}
		if match(l.pkg, pkg) && len(l.pkg) > bestLen {
			best, bestLen = i, len(l.pkg)
		}
	}
	return best
}

// allows reports whether entry r of layers lets its packages import ours.
func allows(r int, ours string) bool {
	return slices.ContainsFunc(layers[r].allow, func(a string) bool { return match(a, ours) })
}

func TestImportLayers(t *testing.T) {
	root, module := moduleRoot(t)
	pkgs := goFiles(t, root)
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages under %s: the walk is broken", len(pkgs), root)
	}
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	fset := token.NewFileSet()
	for _, pkg := range dirs {
		r := ruleFor(pkg)
		if r < 0 {
			t.Errorf("package %s is not in the import table of internal/layers: add it", pkg)
			continue
		}
		rule := layers[r]
		for _, file := range pkgs[pkg] {
			f, err := parser.ParseFile(fset, filepath.Join(root, file), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, c := range confined {
					if strings.HasPrefix(path, c.prefix) && !slices.Contains(c.files, file) {
						t.Errorf("%s imports %s: %s", file, path, c.why)
					}
				}
				ours, ok := strings.CutPrefix(path, module+"/")
				if !ok {
					continue
				}
				if !allows(r, ours) {
					may := strings.Join(rule.allow, ", ")
					if may == "" {
						may = "nothing of ours"
					}
					t.Errorf("%s imports %s: %s (table entry %s) may import %s", file, path, pkg, rule.pkg, may)
				}
			}
		}
	}
}

// TestImportTableMatches keeps the table honest: every entry matches a
// package (a stale entry would let a new package inherit its rule unseen).
func TestImportTableMatches(t *testing.T) {
	root, _ := moduleRoot(t)
	pkgs := goFiles(t, root)
	for i, l := range layers {
		found := false
		for pkg := range pkgs {
			if ruleFor(pkg) == i {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("table entry %s matches no package", l.pkg)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"app", "app", true},
		{"app", "api", false},
		{"contracts/...", "contracts", true},
		{"contracts/...", "contracts/payments", true},
		{"contracts/...", "contractsx", false},
		{"*", "regulator", true},
	} {
		if got := match(c.pattern, c.path); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
	// The most specific entry wins.
	for pkg, want := range map[string]string{
		"contracts/payments":          "contracts/...",
		"contracts/ethereum/bindings": "contracts/ethereum/...",
		"internal/ca":                 "internal/ca",
		"consensus/prover/relay":      "consensus/prover/relay/...",
	} {
		if r := ruleFor(pkg); r < 0 || layers[r].pkg != want {
			t.Errorf("rule for %s: %d, want %s", pkg, r, want)
		}
	}
}

// The table refuses what the design forbids.
func TestImportTableRefuses(t *testing.T) {
	for _, c := range []struct {
		pkg, imp string
		want     bool
	}{
		{"gmcrypto", "internal/memo", false},
		{"nodecfg", "gmcrypto", false},
		{"ledger", "permission", false},
		{"ledger", "gmcrypto", true},
		{"permission", "app", false},
		{"contracts/payments", "contracts/ethereum", false},
		{"contracts/payments", "app", false},
		{"contracts/payments", "ledger", true},
		{"contracts/receivables", "contracts/payments", false},
		{"contracts/custody", "permission", false},
		{"contracts/custody", "contracts/payments", false},
		{"contracts/pvp", "permission", false},
		{"contracts/pvp", "contracts/custody", false},
		{"contracts/receivables", "permission", false},
		{"contracts/receivables", "contracts/pvp", false},
		{"app", "api", false},
		{"app", "consensus", false},
		{"app", "regulator", false},
		{"app", "cmd/jinlian", false},
		{"app", "contracts/payments", true},
		{"api", "consensus", false},
		{"api", "regulator", false},
		{"regulator", "consensus", false},
		{"regulator", "api", false},
		{"regulator", "cmd/jinlian", false},
		{"regulator", "app", false},
		{"regulator", "wire", true},
		{"checkpoint", "consensus/prover", false},
		{"app", "consensus/prover", false},
		{"app", "checkpoint", true},
		{"consensus", "regulator", false},
		{"consensus", "api", false},
		{"consensus", "node", false},
		{"node", "api", true},
		{"node", "node/localnet", false},
		{"api", "node", false},
		{"consensus/prover", "consensus", false},
		{"cmd/jinlian", "regulator", true},
		{"console", "api", true},
		{"console", "wire", true},
		{"console", "app", false},
		{"console", "consensus", false},
		{"console", "ledger", false},
		{"console", "contracts/payments", false},
	} {
		r := ruleFor(c.pkg)
		if r < 0 {
			t.Fatalf("no entry for %s", c.pkg)
		}
		if got := allows(r, c.imp); got != c.want {
			t.Errorf("%s importing %s allowed = %v, want %v", c.pkg, c.imp, got, c.want)
		}
	}
}

// moduleRoot finds go.mod above the working directory and returns its
// directory and module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			s := bufio.NewScanner(f)
			for s.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
					return dir, strings.TrimSpace(m)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// goFiles maps each package directory (relative, slash-separated) to its
// non-test Go files (relative to root), whatever their build tags, except
// `//go:build ignore` programs. It skips testdata, node_modules, vendor,
// hidden directories and nested modules.
func goFiles(t *testing.T, root string) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root {
				if name == "testdata" || name == "node_modules" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || ignored(t, path) {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		pkgs[pathDir(rel)] = append(pkgs[pathDir(rel)], rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func pathDir(rel string) string {
	if i := strings.LastIndex(rel, "/"); i >= 0 {
		return rel[:i]
	}
	return "."
}

// ignored reports whether the file is a `//go:build ignore` program.
func ignored(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "package ") {
			return false
		}
		if line == "//go:build ignore" {
			return true
		}
	}
	return false
}
