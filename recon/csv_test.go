package recon

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The CSV form is pinned by a golden file: go test ./recon -run TestWriteCSV -update.
func TestWriteCSV(t *testing.T) {
	txs := append(slices.Clone(dayTxs), tx{height: 16, sender: b1, org: "bankB", events: []protoreflect.ProtoMessage{
		xfer("payments", "CNY", b1, a1, "bankA", 3, 0, 868, `=HYPERLINK("http://x","pay, ""now""")`)}})
	st, err := Build(context.Background(), newChain(txs), cst, Request{Org: "bankA", Date: "2026-12-03"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := st.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "statement.csv")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("CSV differs from %s (rerun with -update and review the diff):\n%s", golden, buf.Bytes())
	}
	recs, err := csv.NewReader(bytes.NewReader(want)).ReadAll()
	if err != nil || len(recs) != len(st.Rows)+1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, rec := range recs {
		if len(rec) != len(CSVHeader) {
			t.Fatalf("record of %d fields: %q", len(rec), rec)
		}
	}
	if memo := recs[len(recs)-1][14]; memo != `'=HYPERLINK("http://x","pay, ""now""")` {
		t.Fatalf("formula memo written as %q", memo)
	}
}
