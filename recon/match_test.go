package recon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var shanghaiTZ = time.FixedZone("CST", 8*3600)

// reconDay is 2026-12-03 in Shanghai.
func reconDay(t testing.TB) Day {
	start, end, err := ParseDate("2026-12-03", shanghaiTZ)
	if err != nil {
		t.Fatal(err)
	}
	return Day{Date: "2026-12-03", TimeZone: "Asia/Shanghai", Start: start, End: end, FromHeight: 10, ToHeight: 40, Complete: true, AsOfHeight: 50}
}

// dayRows is bankA's statement of the day: twelve transfers with bankB and
// bankC, both directions, in CNY and USD, each with its reference.
func dayRows(t testing.TB) []Row {
	day := reconDay(t)
	var rows []Row
	for i := 1; i <= 12; i++ {
		dir, cp, cpOrg := Debit, b1, "bankB"
		if i%3 == 0 {
			dir = Credit
		}
		if i%2 == 0 {
			cp, cpOrg = c1, "bankC"
		}
		asset := "CNY"
		if i%5 == 0 {
			asset = "USD"
		}
		rows = append(rows, Row{Time: day.Start.Add(time.Duration(i) * time.Hour), Height: int64(10 + i), TxIndex: 0, TxID: fmt.Sprintf("%064x", i),
			Ledger: "payments", Asset: asset, Kind: KindTransfer, Direction: dir, Amount: uint64(100 * i), Account: a1,
			Counterparty: cp, CounterpartyOrg: cpOrg, Memo: fmt.Sprintf("INV-%03d", i), Result: ResultOK})
	}
	return rows
}

// statementCSV is what `jinlian statement -o csv` writes for rows.
func statementCSV(t testing.TB, rows []Row) []byte {
	var b bytes.Buffer
	st := &Statement{Rows: rows}
	if err := st.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type want struct{ kind, ref string }

func gotBreaks(rec *Reconciliation) []want {
	var out []want
	for _, b := range rec.Breaks {
		out = append(out, want{b.Kind, b.Reference})
	}
	return out
}

// TestMatchPlantedBreaks plants each kind of break in an internal file
// written from the chain's own statement (the default mapping) and checks
// that exactly the planted breaks are reported.
func TestMatchPlantedBreaks(t *testing.T) {
	cases := []struct {
		name string
		// chain and file change bankA's statement into the chain's and
		// the internal file's rows.
		chain, file func([]Row) []Row
		want        []want
	}{
		{name: "the file is the statement: all matched"},
		{name: "a payment booked internally never reached the chain", file: func(r []Row) []Row {
			x := r[0]
			x.Memo, x.TxID = "INV-900", ""
			return append(r, x)
		}, want: []want{{BreakMissingOnChain, "INV-900"}}},
		{name: "a chain movement not booked internally", file: func(r []Row) []Row {
			return slices.Delete(r, 2, 3)
		}, want: []want{{BreakMissingInternally, "INV-003"}}},
		{name: "amount differs", file: func(r []Row) []Row {
			r[3].Amount++
			return r
		}, want: []want{{BreakAmountMismatch, "INV-004"}}},
		{name: "asset differs", file: func(r []Row) []Row {
			r[4].Asset = "CNY" // INV-005 is USD on chain
			return r
		}, want: []want{{BreakAssetMismatch, "INV-005"}}},
		{name: "counterparty differs", file: func(r []Row) []Row {
			r[5].Counterparty = b1 // INV-006 went to bankC's c1
			return r
		}, want: []want{{BreakCounterpartyMismatch, "INV-006"}}},
		{name: "a line posted twice internally", file: func(r []Row) []Row {
			return append(r, r[6])
		}, want: []want{{BreakDuplicateInternal, "INV-007"}}},
		{name: "a payment made twice on chain", chain: func(r []Row) []Row {
			x := r[7]
			x.TxID, x.Height = fmt.Sprintf("%064x", 99), 30
			return append(r, x)
		}, want: []want{{BreakDuplicateOnChain, "INV-008"}}},
		{name: "every kind at once, listed by kind", chain: func(r []Row) []Row {
			x := r[7]
			x.TxID, x.Height = fmt.Sprintf("%064x", 99), 30
			return append(r, x)
		}, file: func(r []Row) []Row {
			r[3].Amount++
			r[4].Asset = "CNY"
			r[5].Counterparty = "bankB" // by organisation
			x := r[0]
			x.Memo, x.TxID = "INV-900", ""
			r = append(r, x, r[6])
			return slices.Delete(r, 2, 3)
		}, want: []want{{BreakMissingOnChain, "INV-900"}, {BreakMissingInternally, "INV-003"}, {BreakAmountMismatch, "INV-004"},
			{BreakAssetMismatch, "INV-005"}, {BreakCounterpartyMismatch, "INV-006"}, {BreakDuplicateOnChain, "INV-008"}, {BreakDuplicateInternal, "INV-007"}}},
		{name: "two equal payments on both sides both match", chain: func(r []Row) []Row {
			x := r[7]
			x.TxID, x.Height = fmt.Sprintf("%064x", 99), 30
			return append(r, x)
		}, file: func(r []Row) []Row {
			x := r[7]
			x.TxID = fmt.Sprintf("%064x", 99)
			return append(r, x)
		}},
		{name: "a day with no transfers", chain: func([]Row) []Row { return nil }, file: func([]Row) []Row { return nil }},
		{name: "a day with no transfers on chain", chain: func([]Row) []Row { return nil }, file: func(r []Row) []Row { return r[:1] },
			want: []want{{BreakMissingOnChain, "INV-001"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chain, file := dayRows(t), dayRows(t)
			if tc.chain != nil {
				chain = tc.chain(chain)
			}
			if tc.file != nil {
				file = tc.file(file)
			}
			f, err := ParseInternal(bytes.NewReader(statementCSV(t, file)), DefaultMapping(), shanghaiTZ)
			if err != nil {
				t.Fatal(err)
			}
			rec := Match(chain, f.Records)
			if got := gotBreaks(rec); !slices.Equal(got, tc.want) {
				t.Fatalf("breaks %v, want %v", got, tc.want)
			}
			if rec.Summary.Breaks != len(tc.want) || rec.Summary.Matched+fileBreaks(rec) != len(f.Records) {
				t.Errorf("summary %+v does not add up", rec.Summary)
			}
			// The same inputs give the same result.
			if again := Match(chain, f.Records); jsonOf(t, again) != jsonOf(t, rec) {
				t.Error("Match is not deterministic")
			}
		})
	}
}

func jsonOf(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fileBreaks counts the breaks that show an internal line: every line is
// matched or in one break.
func fileBreaks(rec *Reconciliation) int {
	n := 0
	for _, b := range rec.Breaks {
		if b.Internal != nil {
			n++
		}
	}
	return n
}

// TestPositions checks per-counterparty and day figures of both sides.
func TestPositions(t *testing.T) {
	chain := dayRows(t)
	file := dayRows(t)
	file[0].Amount = 150 // INV-001: a debit of 100 to bankB, booked as 150
	f, err := ParseInternal(bytes.NewReader(statementCSV(t, file)), DefaultMapping(), shanghaiTZ)
	if err != nil {
		t.Fatal(err)
	}
	rec := Match(chain, f.Records)
	// bankB, CNY: debits 1, 7, 11 (100+700+1100), credits 3, 9 (300+900).
	var got *Position
	for i := range rec.Positions {
		if rec.Positions[i].Asset == "CNY" && rec.Positions[i].Counterparty == "bankB" {
			got = &rec.Positions[i]
		}
	}
	if got == nil {
		t.Fatalf("no bankB CNY position in %+v", rec.Positions)
	}
	w := Flows{ChainCredits: "1200", ChainDebits: "1900", ChainNet: "-700", InternalCredits: "1200", InternalDebits: "1950", InternalNet: "-750"}
	if got.Flows != w {
		t.Errorf("bankB CNY %+v, want %+v", got.Flows, w)
	}
	if len(rec.Totals) != 2 || rec.Totals[0].Asset != "CNY" || rec.Totals[0].Agree || !rec.Totals[1].Agree {
		t.Errorf("totals %+v", rec.Totals)
	}
}

// bankFile is a core banking export: Chinese headers, amounts in yuan
// with thousands separators, 借/贷, the counterparty bank, local times.
const bankMapping = `
delimiter = "|"
header = true
encoding = "auto"
time_layout = "2006-01-02 15:04:05"
[columns]
reference = "参考号"
amount = "金额"
asset = "币种"
direction = "借贷"
counterparty = "对方行"
time = "记账时间"
[amount]
scale = 2
decimal_point = "."
thousands = ","
[direction]
debit = ["借"]
credit = ["贷"]
`

func bankFile(rows []Row) string {
	var b strings.Builder
	b.WriteString("参考号|记账时间|借贷|金额|币种|对方行|摘要\n")
	for _, r := range rows {
		dir := map[string]string{Debit: "借", Credit: "贷"}[r.Direction]
		fmt.Fprintf(&b, "%s|%s|%s|%d,%03d.%02d|%s|%s|货款\n", r.Memo, r.Time.Format("2006-01-02 15:04:05"), dir,
			r.Amount/100000, r.Amount/100%1000, r.Amount%100, r.Asset, r.CounterpartyOrg)
	}
	return b.String()
}

// TestBankFileGB18030 reads a bank's own export through a mapping, in
// UTF-8 and in GB18030 (detected, and named), and finds the same breaks.
func TestBankFileGB18030(t *testing.T) {
	m, err := ParseMapping([]byte(bankMapping))
	if err != nil {
		t.Fatal(err)
	}
	chain := dayRows(t)
	for i := range chain {
		chain[i].Amount *= 100 // bankFile writes yuan with two decimals
	}
	file := slices.Clone(chain)
	file[1].Amount = 12345678 // 123,456.78
	utf := bankFile(file)
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	if gb == utf {
		t.Fatal("the GB18030 file is the UTF-8 one")
	}
	var results []string
	for _, f := range []struct{ name, enc, data, wantEnc string }{
		{"utf-8 detected", "auto", utf, EncodingUTF8},
		{"gb18030 detected", "auto", gb, EncodingGB18030},
		{"gb18030 named", "gb18030", gb, EncodingGB18030},
		{"gbk named", "gbk", gb, EncodingGB18030},
	} {
		m.Encoding = f.enc
		in, err := ParseInternal(strings.NewReader(f.data), m, shanghaiTZ)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if in.Encoding != f.wantEnc {
			t.Errorf("%s: read as %s", f.name, in.Encoding)
		}
		if err := CheckDay(in, reconDay(t)); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		rec := Match(chain, in.Records)
		if got := gotBreaks(rec); !slices.Equal(got, []want{{BreakAmountMismatch, "INV-002"}}) {
			t.Errorf("%s: breaks %v", f.name, got)
		}
		results = append(results, jsonOf(t, rec))
	}
	for _, r := range results[1:] {
		if r != results[0] {
			t.Error("GB18030 and UTF-8 files reconcile differently")
		}
	}
	m.Encoding = "utf-8"
	if _, err := ParseInternal(strings.NewReader(gb), m, shanghaiTZ); err == nil || !strings.Contains(err.Error(), "--encoding gb18030") {
		t.Errorf("a GB18030 file read as UTF-8: %v", err)
	}
}

// TestWrongDay refuses a file of another day, naming it.
func TestWrongDay(t *testing.T) {
	rows := dayRows(t)
	for i := range rows {
		rows[i].Time = rows[i].Time.AddDate(0, 0, -1)
	}
	f, err := ParseInternal(bytes.NewReader(statementCSV(t, rows)), DefaultMapping(), shanghaiTZ)
	if err != nil {
		t.Fatal(err)
	}
	err = CheckDay(f, reconDay(t))
	var wd *WrongDayError
	if !errors.As(err, &wd) || wd.Other != "2026-12-02" || wd.Line != 2 || !strings.Contains(err.Error(), "not for 2026-12-03") {
		t.Fatalf("got %v", err)
	}
	// One line across midnight in a file of the day is kept.
	rows = dayRows(t)
	rows[0].Time = rows[0].Time.Add(-2 * time.Hour)
	f, _ = ParseInternal(bytes.NewReader(statementCSV(t, rows)), DefaultMapping(), shanghaiTZ)
	if err := CheckDay(f, reconDay(t)); err != nil {
		t.Fatal(err)
	}
}

// TestMalformedFiles: every malformed file or mapping is an error that
// names the line and column, or the mapping key.
func TestMalformedFiles(t *testing.T) {
	good := string(statementCSV(t, dayRows(t)[:2]))
	lines := strings.Split(strings.TrimSpace(good), "\n")
	cases := []struct {
		name, file, mapping string
		want                string
	}{
		{name: "bad amount", file: lines[0] + "\n" + lines[1] + "\n" + strings.Replace(lines[2], ",200,", ",2x0,", 1),
			want: `line 3, column amount: amount "2x0" is not a number`},
		{name: "negative amount with a direction column", file: lines[0] + "\n" + strings.Replace(lines[1], ",100,", ",-100,", 1),
			want: "line 2, column amount: amount \"-100\" is negative"},
		{name: "fraction of the smallest unit", file: lines[0] + "\n" + strings.Replace(lines[1], ",100,", ",100.5,", 1),
			want: "more than 0 decimal places"},
		{name: "a short line", file: lines[0] + "\n" + lines[1] + "\n2026-12-03T01:00:00+08:00,11,1",
			want: "line 3, column memo: missing: the line has 3 fields"},
		{name: "unknown direction", file: lines[0] + "\n" + strings.Replace(lines[1], ",debit,", ",sideways,", 1),
			want: `line 2, column direction: direction "sideways"`},
		{name: "bad time", file: lines[0] + "\n" + strings.Replace(lines[1], "2026-12-03T", "2026-12-03 ", 1),
			want: "line 2, column time: time"},
		{name: "broken quoting", file: lines[0] + "\n" + lines[1] + "\n\"unterminated,1", want: "line 3: not valid CSV"},
		{name: "empty file", file: "", want: "line 1: the file is empty"},
		{name: "mapping names a missing column", file: good, mapping: "[columns]\nreference = \"memo\"\namount = \"betrag\"\n",
			want: "line 1, column betrag: no such column in the header (mapping columns.amount)"},
		{name: "unknown encoding", file: good, mapping: "encoding = \"latin-9\"\n", want: `encoding "latin-9": want utf-8, gb18030`},
		{name: "misspelt mapping key", file: good, mapping: "delimeter = \";\"\n", want: "delimeter"},
		{name: "mapping without amount", file: good, mapping: "[columns]\nreference = \"memo\"\n", want: "columns.amount is required"},
		{name: "column numbers without a header", file: good, mapping: "header = false\n[columns]\namount = \"amount\"\ntx_id = \"5\"\n",
			want: "columns.amount = \"amount\": without a header row"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := DefaultMapping()
			if tc.mapping != "" {
				var err error
				if m, err = ParseMapping([]byte(tc.mapping)); err != nil {
					if !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("mapping error %q, want %q", err, tc.want)
					}
					return
				}
			}
			_, err := ParseInternal(strings.NewReader(tc.file), m, shanghaiTZ)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestHeaderlessSignedAmounts reads a file with no header, columns by
// number and the direction in the amount's sign.
func TestHeaderlessSignedAmounts(t *testing.T) {
	m, err := ParseMapping([]byte("header = false\ndelimiter = \";\"\n[columns]\nreference = \"1\"\namount = \"2\"\n[amount]\nscale = 2\ndecimal_point = \",\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseInternal(strings.NewReader("INV-001;-1,00\nINV-003;3,00\n"), m, shanghaiTZ)
	if err != nil {
		t.Fatal(err)
	}
	rows := dayRows(t)[:3]
	rec := Match(rows, f.Records)
	if got := gotBreaks(rec); !slices.Equal(got, []want{{BreakMissingInternally, "INV-002"}}) || rec.Summary.Matched != 2 {
		t.Fatalf("breaks %v, summary %+v", got, rec.Summary)
	}
}

func FuzzParseInternal(f *testing.F) {
	f.Add([]byte("memo,amount,direction\nINV-1,100,debit\n"), false)
	f.Add([]byte(bankFile(dayRows(f)[:3])), true)
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String(bankFile(dayRows(f)[:2]))
	f.Add([]byte(gb), true)
	bm, err := ParseMapping([]byte(bankMapping))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, bank bool) {
		m := DefaultMapping()
		m.Columns = Columns{Reference: "memo", Amount: "amount", Direction: "direction"}
		if bank {
			m = bm
		}
		in, err := ParseInternal(bytes.NewReader(data), m, shanghaiTZ)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			return
		}
		for _, r := range in.Records {
			if r.Direction != Debit && r.Direction != Credit && r.Direction != Issued && r.Direction != Retired {
				t.Fatalf("line %d: direction %q", r.Line, r.Direction)
			}
		}
		Match(dayRows(t), in.Records)
	})
}

// TestDefaultMappingTOML: the mapping file recon mapping prints is the
// default mapping.
func TestDefaultMappingTOML(t *testing.T) {
	m, err := ParseMapping([]byte(DefaultMappingTOML))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultMapping()
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, m) != jsonOf(t, d) {
		t.Fatalf("DefaultMappingTOML reads as\n%+v\nnot\n%+v", m, d)
	}
}

// TestByteOrderMark: a UTF-8 file with a byte-order mark (as spreadsheets
// save CSV) reads like one without, with or without a header row.
func TestByteOrderMark(t *testing.T) {
	csv := statementCSV(t, dayRows(t)[:2])
	f, err := ParseInternal(bytes.NewReader(append([]byte("\ufeff"), csv...)), DefaultMapping(), shanghaiTZ)
	if err != nil || len(f.Records) != 2 || f.Encoding != EncodingUTF8 {
		t.Fatalf("%v %+v", err, f)
	}
	m, err := ParseMapping([]byte("header = false\n[columns]\nreference = \"1\"\namount = \"2\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err = ParseInternal(strings.NewReader("\ufeffINV-001,-100\n"), m, shanghaiTZ)
	if err != nil || f.Records[0].Reference != "INV-001" {
		t.Fatalf("%v %+v", err, f)
	}
}
