package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/node"
)

func TestDebugCheckData(t *testing.T) {
	home := t.TempDir()
	dir := node.LedgerDir(home)
	s, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLedger("payments"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		if err := s.Set("payments", []byte(fmt.Sprintf("k%05d", i)), []byte(strings.Repeat("v", 50))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	out, err := runCLI(t, "debug", "check-data", "--home", home)
	if err != nil || !strings.Contains(out, "payments (5000 keys): ok") || !strings.Contains(out, "tables: ok") {
		t.Fatalf("clean home: err %v, output:\n%s", err, out)
	}

	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table file")
	}
	for _, f := range tables {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0x5a
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runCLI(t, "debug", "check-data", "--home", home)
	if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(out, "checksum") {
		t.Fatalf("damaged home: err %v, output:\n%s", err, out)
	}
}
