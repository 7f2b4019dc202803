package recon

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Mapping says how to read a bank's internal ledger file: which column
// holds what, how amounts and directions are written, and the file's
// encoding. It is the [mapping] TOML of docs/reconciliation.md;
// DefaultMapping reads the CSV that `jinlian statement -o csv` writes.
type Mapping struct {
	// Delimiter is the field separator: one character ("," ";" "|"
	// "\t").
	Delimiter string `toml:"delimiter"`
	// Header: the first row names the columns. Without a header row,
	// columns are given by number, counting from 1.
	Header bool `toml:"header"`
	// Encoding is utf-8, gb18030 (gbk, a subset, is read as gb18030) or
	// auto: UTF-8 when the file's first 64 KiB are valid UTF-8, else
	// GB18030.
	Encoding string  `toml:"encoding"`
	Columns  Columns `toml:"columns"`
	Amount   Amounts `toml:"amount"`
	// Direction lists, per direction, the values the file writes for it
	// (compared after trimming spaces, ignoring case).
	Direction Directions `toml:"direction"`
	// TimeLayout is Go's layout of the time column (default RFC 3339);
	// a time without a zone is read in the day's zone.
	TimeLayout string `toml:"time_layout"`
}

// Columns names the column (a header name, or a number from 1) of each
// field; only Amount and one of Reference and TxID are required.
type Columns struct {
	Reference    string `toml:"reference"`
	TxID         string `toml:"tx_id"`
	Amount       string `toml:"amount"`
	Asset        string `toml:"asset"`
	Direction    string `toml:"direction"`
	Counterparty string `toml:"counterparty"`
	Time         string `toml:"time"`
}

// Amounts says how amounts are written: Scale digits after the decimal
// point make one unit of the chain's (the asset's smallest unit); with
// Scale 2, "1,234.50" is 123450. A file writing the smallest unit
// already has Scale 0.
type Amounts struct {
	Scale        int    `toml:"scale"`
	DecimalPoint string `toml:"decimal_point"`
	// Thousands is the grouping separator, removed before parsing ("" for none).
	Thousands string `toml:"thousands"`
}

// Directions lists the file's words for each direction. Without a
// direction column, the amount's sign gives it: negative is a debit.
type Directions struct {
	Debit   []string `toml:"debit"`
	Credit  []string `toml:"credit"`
	Issued  []string `toml:"issued"`
	Retired []string `toml:"retired"`
}

// DefaultMapping reads a statement's CSV form (CSVHeader): references in
// memo, tx ids in tx_id, amounts in the smallest unit, directions as the
// statement writes them (and D/C, 借/贷).
func DefaultMapping() Mapping {
	return Mapping{
		Delimiter: ",", Header: true, Encoding: "auto",
		Columns: Columns{Reference: "memo", TxID: "tx_id", Amount: "amount", Asset: "asset", Direction: "direction",
			Counterparty: "counterparty", Time: "time"},
		Amount: Amounts{Scale: 0, DecimalPoint: "."},
		Direction: Directions{Debit: []string{Debit, "D", "DR", "借"}, Credit: []string{Credit, "C", "CR", "贷"},
			Issued: []string{Issued}, Retired: []string{Retired}},
		TimeLayout: time.RFC3339Nano,
	}
}

// DefaultMappingTOML is DefaultMapping as a mapping file: what
// `jinlian recon mapping` prints for a bank to start its own from.
const DefaultMappingTOML = `# jinlian recon run: column mapping (docs/reconciliation.md#the-mapping-file).
# This is the default: it reads the CSV that jinlian statement -o csv writes.
delimiter = ","
header = true            # the first row names the columns
encoding = "auto"        # auto (UTF-8, else GB18030), utf-8, gb18030 (gbk is read as gb18030)
time_layout = "2006-01-02T15:04:05.999999999Z07:00"   # Go's layout; a time without a zone is in the day's

[columns]                # a header name, or (header = false) a number from 1; leave out what the file lacks
reference = "memo"       # the payment reference
tx_id = "tx_id"          # jinlian's tx id, where the core system keeps it
amount = "amount"
asset = "asset"
direction = "direction"  # without it, the amount's sign: negative is a debit
counterparty = "counterparty"   # the account, or its organisation
time = "time"

[amount]
scale = 0                # digits after the decimal point in one smallest unit (yuan with fen: 2)
decimal_point = "."
thousands = ""           # grouping separator, removed before parsing

[direction]              # the file's words, compared ignoring case and spaces
debit = ["debit", "D", "DR", "借"]
credit = ["credit", "C", "CR", "贷"]
issued = ["issued"]
retired = ["retired"]
`

// ParseMapping reads a mapping file: what it sets replaces the default,
// what it leaves out stays as in DefaultMapping. Unknown keys are an
// error, so a misspelt key does not silently keep a default.
func ParseMapping(data []byte) (Mapping, error) {
	m := DefaultMapping()
	// A file that names columns names all it uses: start them empty.
	m.Columns = Columns{}
	var probe struct {
		Columns *Columns `toml:"columns"`
	}
	if err := toml.Unmarshal(data, &probe); err != nil {
		return m, fmt.Errorf("mapping: %w", err)
	}
	if probe.Columns == nil {
		m.Columns = DefaultMapping().Columns
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			return m, fmt.Errorf("mapping: %s", strings.TrimSpace(sm.String()))
		}
		return m, fmt.Errorf("mapping: %w", err)
	}
	return m, m.Check()
}

// Check reports what is wrong with m.
func (m *Mapping) Check() error {
	if utf8.RuneCountInString(m.Delimiter) != 1 || m.Delimiter == "\"" || m.Delimiter == "\n" || m.Delimiter == "\r" {
		return fmt.Errorf("mapping: delimiter %q: want one character, not a quote or a line break", m.Delimiter)
	}
	if _, err := encodingOf(m.Encoding); err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	if m.Columns.Amount == "" {
		return errors.New("mapping: columns.amount is required")
	}
	if m.Columns.Reference == "" && m.Columns.TxID == "" {
		return errors.New("mapping: name columns.reference (the payment reference) or columns.tx_id, or both")
	}
	if m.Amount.Scale < 0 || m.Amount.Scale > 18 {
		return fmt.Errorf("mapping: amount.scale %d: want 0 to 18", m.Amount.Scale)
	}
	if m.Amount.DecimalPoint == "" {
		m.Amount.DecimalPoint = "."
	}
	if m.Amount.DecimalPoint == m.Amount.Thousands {
		return fmt.Errorf("mapping: amount.decimal_point and amount.thousands are both %q", m.Amount.Thousands)
	}
	if m.TimeLayout == "" {
		m.TimeLayout = time.RFC3339Nano
	}
	if !m.Header {
		for _, c := range m.columnList() {
			if n, err := strconv.Atoi(c.col); c.col != "" && (err != nil || n < 1) {
				return fmt.Errorf("mapping: columns.%s = %q: without a header row, columns are numbers from 1", c.name, c.col)
			}
		}
	}
	return nil
}

type namedColumn struct{ name, col string }

func (m *Mapping) columnList() []namedColumn {
	c := m.Columns
	return []namedColumn{{"reference", c.Reference}, {"tx_id", c.TxID}, {"amount", c.Amount}, {"asset", c.Asset},
		{"direction", c.Direction}, {"counterparty", c.Counterparty}, {"time", c.Time}}
}

// Encodings the internal file may be in.
const (
	EncodingAuto    = "auto"
	EncodingUTF8    = "utf-8"
	EncodingGB18030 = "gb18030"
)

func encodingOf(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", EncodingAuto:
		return EncodingAuto, nil
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "gb18030", "gbk", "gb2312":
		return EncodingGB18030, nil
	}
	return "", fmt.Errorf("encoding %q: want utf-8, gb18030 (or gbk) or auto", name)
}

// Record is one line of the internal file, as the mapping reads it.
type Record struct {
	Line         int    `json:"line"` // in the file, from 1 (the header is line 1)
	Reference    string `json:"reference,omitempty"`
	TxID         string `json:"tx_id,omitempty"`
	Direction    string `json:"direction"`
	Amount       uint64 `json:"amount,string"`
	Asset        string `json:"asset,omitempty"`
	Counterparty string `json:"counterparty,omitempty"`
	Time         string `json:"time,omitempty"` // RFC 3339 in the day's zone, when the file has times
	at           time.Time
}

// InternalFile is a parsed internal file.
type InternalFile struct {
	Encoding string // the encoding it was read in
	Records  []Record
}

// FileError names the line and column of a malformed internal file.
type FileError struct {
	Line   int
	Column string // "" for the line as a whole
	Err    error
}

func (e *FileError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("internal file line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("internal file line %d, column %s: %v", e.Line, e.Column, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// ParseInternal reads an internal ledger file with mapping m. Times
// without a zone are read in loc. It stops at the first malformed line,
// naming it.
func ParseInternal(r io.Reader, m Mapping, loc *time.Location) (*InternalFile, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	enc, _ := encodingOf(m.Encoding)
	br := bufio.NewReaderSize(r, 64<<10)
	if enc == EncodingAuto {
		head, err := br.Peek(64 << 10)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("internal file: %w", err)
		}
		enc = EncodingUTF8
		if !validUTF8Prefix(head, len(head) < 64<<10) {
			enc = EncodingGB18030
		}
	}
	if enc == EncodingUTF8 {
		if head, _ := br.Peek(3); bytes.Equal(head, []byte("\ufeff")) {
			_, _ = br.Discard(3) // a byte-order mark
		}
	}
	var src io.Reader = br
	if enc == EncodingGB18030 {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	cr := csv.NewReader(src)
	cr.Comma, _ = utf8.DecodeRuneInString(m.Delimiter)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	idx := map[string]int{}
	out := &InternalFile{Encoding: enc}
	fail := func(line int, col string, err error) (*InternalFile, error) {
		return nil, &FileError{Line: line, Column: col, Err: err}
	}
	cols := m.columnList()
	if m.Header {
		head, err := cr.Read()
		if err == io.EOF {
			return nil, &FileError{Line: 1, Err: errors.New("the file is empty: a header row was expected")}
		}
		if err != nil {
			return fail(1, "", csvError(err))
		}
		for i, h := range head {
			h = strings.TrimSpace(h)
			if !utf8.ValidString(h) {
				return fail(1, "", fmt.Errorf("header is not valid %s: give the file's encoding (--encoding gb18030)", enc))
			}
			if _, dup := idx[h]; !dup {
				idx[h] = i
			}
		}
		for _, c := range cols {
			if _, ok := idx[c.col]; c.col != "" && !ok {
				return fail(1, c.col, fmt.Errorf("no such column in the header (mapping columns.%s); the header has %s", c.name, strings.Join(head, ", ")))
			}
		}
	} else {
		for _, c := range cols {
			if c.col != "" {
				n, _ := strconv.Atoi(c.col)
				idx[c.col] = n - 1
			}
		}
	}
	dirs := map[string]string{}
	for dir, words := range map[string][]string{Debit: m.Direction.Debit, Credit: m.Direction.Credit, Issued: m.Direction.Issued, Retired: m.Direction.Retired} {
		for _, w := range words {
			dirs[strings.ToLower(strings.TrimSpace(w))] = dir
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return fail(line, "", csvError(err))
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		get := func(c string) (string, error) {
			if c == "" {
				return "", nil
			}
			i := idx[c]
			if i >= len(rec) {
				return "", fmt.Errorf("missing: the line has %d fields", len(rec))
			}
			v := strings.TrimSpace(rec[i])
			if !utf8.ValidString(v) {
				return "", fmt.Errorf("not valid %s: give the file's encoding (--encoding gb18030)", enc)
			}
			return v, nil
		}
		var vals [7]string
		for i, c := range cols {
			if vals[i], err = get(c.col); err != nil {
				return fail(line, c.col, err)
			}
		}
		r := Record{Line: line, Reference: unapostrophe(vals[0]), TxID: strings.ToLower(vals[1]), Asset: vals[3], Counterparty: vals[5]}
		neg := false
		if r.Amount, neg, err = m.Amount.parse(vals[2]); err != nil {
			return fail(line, m.Columns.Amount, err)
		}
		switch {
		case m.Columns.Direction == "":
			r.Direction = Credit
			if neg {
				r.Direction = Debit
			}
		case neg:
			return fail(line, m.Columns.Amount, fmt.Errorf("amount %q is negative and the direction is in column %s", vals[2], m.Columns.Direction))
		default:
			d, ok := dirs[strings.ToLower(vals[4])]
			if !ok {
				return fail(line, m.Columns.Direction, fmt.Errorf("direction %q is none of the mapping's (debit %q, credit %q)", vals[4], m.Direction.Debit, m.Direction.Credit))
			}
			r.Direction = d
		}
		if m.Columns.Time != "" && vals[6] != "" {
			t, err := parseTime(m.TimeLayout, vals[6], loc)
			if err != nil {
				return fail(line, m.Columns.Time, err)
			}
			r.at = t
			r.Time = t.Format(time.RFC3339Nano)
		}
		out.Records = append(out.Records, r)
	}
	return out, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("not valid CSV: %v", pe.Err)
	}
	return err
}

// validUTF8Prefix reports whether b is UTF-8; unless b is the whole file,
// a rune cut at its end does not count against it.
func validUTF8Prefix(b []byte, whole bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if whole {
		return false
	}
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.Valid(b[:len(b)-i]) && !utf8.FullRune(b[len(b)-i:]) {
			return true
		}
	}
	return false
}

// unapostrophe undoes WriteCSV's defence against spreadsheet formulas.
func unapostrophe(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

func parseTime(layout, v string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return t, fmt.Errorf("time %q: want layout %s", v, layout)
	}
	return t.In(loc), nil
}

// parse reads an amount in the file's notation into the chain's smallest
// unit; neg reports a leading minus sign.
func (a Amounts) parse(v string) (amount uint64, neg bool, err error) {
	orig := v
	if v == "" {
		return 0, false, errors.New("amount is empty")
	}
	switch v[0] {
	case '-':
		neg, v = true, v[1:]
	case '+':
		v = v[1:]
	}
	if a.Thousands != "" {
		v = strings.ReplaceAll(v, a.Thousands, "")
	}
	whole, frac, _ := strings.Cut(v, a.DecimalPoint)
	if len(frac) > a.Scale {
		extra := frac[a.Scale:]
		if strings.Trim(extra, "0") != "" {
			return 0, false, fmt.Errorf("amount %q has more than %d decimal places (amount.scale)", orig, a.Scale)
		}
		frac = frac[:a.Scale]
	}
	frac += strings.Repeat("0", a.Scale-len(frac))
	digits := whole + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" || whole == "" {
		return 0, false, fmt.Errorf("amount %q is not a number (decimal point %q, scale %d)", orig, a.DecimalPoint, a.Scale)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("amount %q does not fit in 64 bits of the smallest unit", orig)
	}
	if neg && n == 0 {
		neg = false
	}
	return n, neg, nil
}
