package recon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// benchDay is a day of n movements of bankA with 100 counterparties.
func benchDay(b *testing.B, n int) []Row {
	day := reconDay(b)
	rows := make([]Row, n)
	cps := make([]string, 100)
	orgs := make([]string, 100)
	for i := range cps {
		cps[i], orgs[i] = fmt.Sprintf("%040x", i+1), "bank"+strconv.Itoa(i)
	}
	for i := range rows {
		dir := Debit
		if i%3 == 0 {
			dir = Credit
		}
		rows[i] = Row{Time: day.Start.Add(time.Duration(i) * 80 * time.Millisecond), Height: int64(10 + i/1000), TxIndex: uint32(i % 1000),
			TxID: fmt.Sprintf("%064x", i), Ledger: "payments", Asset: "CNY", Kind: KindTransfer, Direction: dir, Amount: uint64(1 + i%100000),
			Account: a1, Counterparty: cps[i%100], CounterpartyOrg: orgs[i%100], Memo: "INV-" + strconv.Itoa(i), Result: ResultOK}
	}
	return rows
}

// benchFile writes the internal file of rows, in chunks (as a core
// banking export streams it), with a break in one line of a thousand.
func benchFile(rows []Row, write func([]Row) []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(rows) * 260)
	chunk := make([]Row, 0, 10000)
	for at := 0; at < len(rows); at += cap(chunk) {
		chunk = append(chunk[:0], rows[at:min(at+cap(chunk), len(rows))]...)
		for j := range chunk {
			i := at + j
			if i%1000 != 0 {
				continue
			}
			switch i / 1000 % 4 {
			case 0:
				chunk[j].Amount++
			case 1:
				chunk[j].Memo, chunk[j].TxID = "X-"+chunk[j].Memo, ""
			case 2:
				chunk[j].Counterparty, chunk[j].CounterpartyOrg = rows[i+1].Counterparty, rows[i+1].CounterpartyOrg
			case 3:
				chunk[j] = rows[i-1]
			}
		}
		b := write(chunk)
		if at > 0 {
			b = b[bytes.IndexByte(b, '\n')+1:] // the header once
		}
		out.Write(b)
	}
	return out.Bytes()
}

// BenchmarkReconcileMillion reconciles 1,000,000 internal lines against
// 1,000,000 chain movements: parse the file (CSV bytes in memory, as
// recon run reads it) and match. byTxID is the statement's own CSV
// (matched by tx id); byReference a bank's export without tx ids, amounts
// in yuan, 借/贷 (matched by payment reference). Reports the peak RSS of
// the process in MB. byTxIDWithStatementJSON also decodes the
// statement's JSON as the API sends it, so it is recon run's whole work
// after the two downloads. Run one at a time (docs/performance.md):
//
//	go test ./recon -run '^$' -bench 'ReconcileMillion/byReference' -benchtime 1x
func BenchmarkReconcileMillion(b *testing.B) {
	for _, tc := range []struct {
		name    string
		mapping func() Mapping
		write   func([]Row) []byte
	}{
		{"byTxID", DefaultMapping, func(r []Row) []byte { return statementCSV(b, r) }},
		{"byTxIDWithStatementJSON", DefaultMapping, func(r []Row) []byte { return statementCSV(b, r) }},
		{"byReference", func() Mapping {
			m, err := ParseMapping([]byte(bankMapping))
			if err != nil {
				b.Fatal(err)
			}
			return m
		}, func(r []Row) []byte { return []byte(bankFile(r)) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rows := benchDay(b, 1_000_000)
			if tc.name == "byReference" {
				for i := range rows {
					rows[i].Amount *= 100 // bankFile writes yuan with two decimals
				}
			}
			data := benchFile(rows, tc.write)
			var statement []byte
			if tc.name == "byTxIDWithStatementJSON" {
				// As recon run gets it: the statement's JSON from the API.
				var err error
				if statement, err = json.Marshal(&Statement{Org: "bankA", Day: reconDay(b), Rows: rows}); err != nil {
					b.Fatal(err)
				}
				rows = nil
				b.ReportMetric(float64(len(statement))/1e6, "statement-MB")
			}
			runtime.GC()
			m := tc.mapping()
			b.ReportAllocs()
			b.ResetTimer()
			var rec *Reconciliation
			for b.Loop() {
				if statement != nil {
					var st Statement
					if err := json.Unmarshal(statement, &st); err != nil {
						b.Fatal(err)
					}
					rows = st.Rows
				}
				f, err := ParseInternal(bytes.NewReader(data), m, shanghaiTZ)
				if err != nil {
					b.Fatal(err)
				}
				if err := CheckDay(f, reconDay(b)); err != nil {
					b.Fatal(err)
				}
				rec = Match(rows, f.Records)
			}
			b.StopTimer()
			if rec.Summary.Breaks < 1000 || rec.Summary.Matched < 990_000 {
				b.Fatalf("summary %+v", rec.Summary)
			}
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peakRSS-MB")
			}
			b.ReportMetric(float64(len(data))/1e6, "file-MB")
		})
	}
}
