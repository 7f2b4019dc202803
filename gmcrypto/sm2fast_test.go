package gmcrypto

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm2/sm2ec"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

func randBelow(t testing.TB, m *big.Int) *big.Int {
	v, err := rand.Int(rand.Reader, m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The field arithmetic against math/big, at random and at the edges.
func TestFieldArithmetic(t *testing.T) {
	pm1 := new(big.Int).Sub(pBig, big.NewInt(1))
	vals := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), pm1, new(big.Int).Rsh(pBig, 1), new(big.Int).Lsh(big.NewInt(1), 255)}
	for range 2000 {
		vals = append(vals, randBelow(t, pBig))
	}
	// Values whose limbs are all ones or zeros but one: the carries and
	// borrows of the reduction at their edges.
	for i := range 256 {
		vals = append(vals, new(big.Int).Lsh(big.NewInt(1), uint(i)), new(big.Int).Sub(pBig, new(big.Int).Lsh(big.NewInt(1), uint(i)/2)))
	}
	mod := func(v *big.Int) *big.Int { return v.Mod(v, pBig) }
	for i, a := range vals {
		b := vals[(i*7+3)%len(vals)]
		fa, fb := feFromBig(a), feFromBig(b)
		var z fe
		feMul(&z, &fa, &fb)
		if got, want := z.toBig(), mod(new(big.Int).Mul(a, b)); got.Cmp(want) != 0 {
			t.Fatalf("%x · %x = %x, want %x", a, b, got, want)
		}
		feAdd(&z, &fa, &fb)
		if got, want := z.toBig(), mod(new(big.Int).Add(a, b)); got.Cmp(want) != 0 {
			t.Fatalf("%x + %x = %x, want %x", a, b, got, want)
		}
		feSub(&z, &fa, &fb)
		if got, want := z.toBig(), mod(new(big.Int).Sub(a, b)); got.Cmp(want) != 0 {
			t.Fatalf("%x − %x = %x, want %x", a, b, got, want)
		}
		if a.Sign() != 0 {
			feInv(&z, &fa)
			if got, want := z.toBig(), new(big.Int).ModInverse(a, pBig); got.Cmp(want) != 0 {
				t.Fatalf("1/%x = %x, want %x", a, got, want)
			}
		}
	}
}

// Every entry of a key's table is j·16ⁱ·P as gmsm computes it, and the
// point operations' exceptional cases (doubling through an addition, a
// point plus its negative, the point at infinity) are right.
func TestKeyTable(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c := sm2ec.P256()
	raw := k.Public().raw
	px, py := new(big.Int).SetBytes(raw[1:33]), new(big.Int).SetBytes(raw[33:])
	tab := buildTable(rawAffine(raw))
	// Every entry: the build adds with gmsm's incomplete assembly formula.
	for i := range tableWindows {
		for j := 1; j <= tableEntries; j++ {
			scalar := new(big.Int).Lsh(big.NewInt(int64(j)), uint(tableBits*i))
			//lint:ignore SA1019 gmsm's curve arithmetic is the reference the table is checked against
			x, y := c.ScalarMult(px, py, scalar.Bytes())
			e := tab[i][j-1]
			if e.x.toBig().Cmp(x) != 0 || e.y.toBig().Cmp(y) != 0 {
				t.Fatalf("T[%d][%d] is not %d·64^%d·P", i, j-1, j, i)
			}
		}
	}
	p := tab[0][0]
	var negY fe
	feSub(&negY, &negY, &p.y)
	if r := addMixed(jacobian{p.x, p.y, feOne}, affine{p.x, negY}); !r.z.isZero() {
		t.Fatal("P + (−P) is not the point at infinity")
	}
	if r := addMixed(jacobian{}, p); r.toAffine() != p {
		t.Fatal("∞ + P is not P")
	}
	if r := addMixed(jacobian{p.x, p.y, feOne}, p).toAffine(); r != tab[0][1] {
		t.Fatal("P + P is not 2·P")
	}
}

// digits recodes a scalar exactly, at random and at the edges.
func TestDigits(t *testing.T) {
	scalars := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(31), big.NewInt(32), big.NewInt(63), big.NewInt(64),
		new(big.Int).Sub(curveN, big.NewInt(1)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))}
	for range 100 {
		scalars = append(scalars, randBelow(t, curveN))
	}
	for _, k := range scalars {
		var b [32]byte
		k.FillBytes(b[:])
		sum := new(big.Int)
		for i, d := range digits(&b) {
			if d < -tableEntries || d >= tableEntries {
				t.Fatalf("digit %d of %x out of range: %d", i, k, d)
			}
			sum.Add(sum, new(big.Int).Lsh(big.NewInt(int64(d)), uint(tableBits*i)))
		}
		if sum.Cmp(k) != 0 {
			t.Fatalf("digits of %x sum to %x", k, sum)
		}
	}
}

// signRS signs msg with k and returns the signature and its r and s.
func signRS(t testing.TB, k *PrivateKey, msg []byte) (sig []byte, r, s *big.Int) {
	sig, err := k.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	var inner cryptobyte.String
	input := cryptobyte.String(sig)
	r, s = new(big.Int), new(big.Int)
	if !input.ReadASN1(&inner, asn1.SEQUENCE) || !inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) {
		t.Fatal("own signature unreadable")
	}
	return sig, r, s
}

// derSig encodes r and s as gmsm does.
func derSig(r, s *big.Int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.BytesOrPanic()
}

func tabled(t testing.TB, k *PrivateKey) *keyTable {
	kt := &keyTable{}
	kt.build(k.Public())
	if kt.t == nil {
		t.Fatal("no table")
	}
	return kt
}

// The table's verification answers as gmsm's for valid signatures and for
// every kind of tampering: another message, r or s changed, out of range,
// zero, swapped, negative, non-minimal or trailing DER, and for
// signatures whose x-coordinate check needs the x = c + n branch.
func TestFastVerifyMatchesGmsm(t *testing.T) {
	n := curveN
	for range 20 {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		kt := tabled(t, k)
		pub := k.Public().k
		msg := make([]byte, 1+len(kt.za))
		_, _ = rand.Read(msg)
		sig, r, s := signRS(t, k, msg)
		one := big.NewInt(1)
		cases := map[string][2][]byte{
			"valid":            {msg, sig},
			"other message":    {append(bytes.Clone(msg), 0), sig},
			"r+1":              {msg, derSig(new(big.Int).Add(r, one), s)},
			"s+1":              {msg, derSig(r, new(big.Int).Add(s, one))},
			"r+n":              {msg, derSig(new(big.Int).Add(r, n), s)},
			"s+n":              {msg, derSig(r, new(big.Int).Add(s, n))},
			"r=0":              {msg, derSig(big.NewInt(0), s)},
			"s=0":              {msg, derSig(r, big.NewInt(0))},
			"r=n":              {msg, derSig(n, s)},
			"s=n-r":            {msg, derSig(r, new(big.Int).Sub(n, r))},
			"swapped":          {msg, derSig(s, r)},
			"negative r":       {msg, derSig(new(big.Int).Neg(r), s)},
			"trailing byte":    {msg, append(bytes.Clone(sig), 0)},
			"truncated":        {msg, sig[:len(sig)-1]},
			"empty":            {msg, nil},
			"r=1,s=1":          {msg, derSig(one, one)},
			"r=n-1,s=n-1":      {msg, derSig(new(big.Int).Sub(n, one), new(big.Int).Sub(n, one))},
			"r,s of 2^256 - 1": {msg, derSig(new(big.Int).Sub(new(big.Int).Lsh(one, 256), one), s)},
		}
		for name, c := range cases {
			want := sm2.VerifyASN1WithSM2(pub, nil, c[0], c[1])
			if got := kt.verify(c[0], c[1]); got != want {
				t.Fatalf("%s: table says %v, gmsm %v", name, got, want)
			}
			if name == "valid" && !want {
				t.Fatal("valid signature refused by gmsm")
			}
		}
	}
}

// Through PublicKey.Verify: a key is verified by gmsm until it has signed
// verifyTableAfter times, then through its table; both accept its
// signatures and refuse another key's.
func TestVerifySwitchesToTable(t *testing.T) {
	k, _ := GenerateKey()
	other, _ := GenerateKey()
	msg := []byte("payment")
	sig, _ := k.Sign(msg)
	forged, _ := other.Sign(msg)
	for i := range 2 * verifyTableAfter {
		if !k.Public().Verify(msg, sig) || k.Public().Verify(msg, forged) {
			t.Fatalf("verification %d wrong", i)
		}
	}
	verifyTables.Lock()
	kt := verifyTables.m[string(k.Public().raw)]
	verifyTables.Unlock()
	if kt == nil || kt.t == nil {
		t.Fatal("no table after many verifications")
	}
}

// The table cache keeps the keys that sign most, whatever the load: keys
// in turn, more of them than it holds tables (the first cache, which
// dropped the oldest table, rebuilt a table every few verifications
// there); a hot set beside an attacker's fresh keys; a hot set that
// changes. builds counts the tables the cache asked for (each costs about
// 25 verifications), tabled the verifications through a table.
func TestTableCachePolicy(t *testing.T) {
	const n = 200_000
	cases := []struct {
		name       string
		key        func(i int) int
		maxBuilds  int
		minTabled  float64 // of the verifications from warm on
		tabledFrom int     // warm: from this verification on
	}{
		{"200 keys in turn", func(i int) int { return i % 200 }, 200, 1, 1000},
		{"300 keys in turn", func(i int) int { return i % 300 }, 2 * maxVerifyTables, 0.8, 10_000},
		{"1000 keys in turn", func(i int) int { return i % 1000 }, 2 * maxVerifyTables, 0.2, 10_000},
		{"3000 keys in turn", func(i int) int { return i % 3000 }, 2 * maxVerifyTables, 0.05, 20_000},
		{"200 hot keys, fresh keys verified 4 times each between", func(i int) int {
			if i%2 == 0 {
				return i / 2 % 200
			}
			return 1_000_000 + i/8
		}, 2 * maxVerifyTables, 0.45, 2000},
		{"200 hot keys, then 200 others", func(i int) int {
			if i < n/2 {
				return i % 200
			}
			return 1000 + i%200
		}, 400 + maxVerifyTables/2, 0.9, 3 * n / 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTableCache()
			built := map[*keyTable]bool{}
			tabled, warm := 0, 0
			for i := range n {
				kt := c.get([]byte(fmt.Sprint(tc.key(i))))
				if kt != nil {
					built[kt] = true
				}
				if i >= tc.tabledFrom {
					warm++
					if kt != nil {
						tabled++
					}
				}
			}
			if warm == 0 {
				t.Fatal("no warm verifications")
			}
			if len(built) > tc.maxBuilds {
				t.Errorf("%d tables built, want at most %d", len(built), tc.maxBuilds)
			}
			if got := float64(tabled) / float64(warm); got < tc.minTabled {
				t.Errorf("%.1f %% of the warm verifications through a table, want at least %.1f %%", 100*got, 100*tc.minTabled)
			}
			if len(c.m) > maxVerifyTables || len(c.uses) > maxCountedKeys {
				t.Errorf("%d tables and %d counted keys kept: over the bounds", len(c.m), len(c.uses))
			}
			t.Logf("%d tables built, %.1f %% of the warm verifications tabled", len(built), 100*float64(tabled)/float64(warm))
		})
	}
}

// FuzzFastVerify: for any signature bytes and message, the table's answer
// is gmsm's.
func FuzzFastVerify(f *testing.F) {
	k, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	kt := tabled(f, k)
	pub := k.Public().k
	for _, m := range []string{"", "a", "payment 1"} {
		sig, _ := k.Sign([]byte(m))
		f.Add([]byte(m), sig)
	}
	f.Add([]byte("x"), []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		if got, want := kt.verify(msg, sig), sm2.VerifyASN1WithSM2(pub, nil, msg, sig); got != want {
			t.Fatalf("table %v, gmsm %v", got, want)
		}
	})
}

func BenchmarkSM2VerifyTabled(b *testing.B) {
	k, _ := GenerateKey()
	kt := tabled(b, k)
	msg := make([]byte, 256)
	sig, _ := k.Sign(msg)
	for b.Loop() {
		if !kt.verify(msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkSM2VerifyGmsm(b *testing.B) {
	k, _ := GenerateKey()
	msg := make([]byte, 256)
	sig, _ := k.Sign(msg)
	for b.Loop() {
		if !sm2.VerifyASN1WithSM2(k.Public().k, nil, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkSM2BuildTable(b *testing.B) {
	k, _ := GenerateKey()
	for b.Loop() {
		tabled(b, k)
	}
}

func BenchmarkFieldMul(b *testing.B) {
	x, y := feFromBig(big.NewInt(12345)), feFromBig(new(big.Int).Rsh(pBig, 3))
	for b.Loop() {
		feMul(&x, &x, &y)
	}
}

// Many goroutines verify one key's signatures while its table is built,
// and other keys come and go: every answer is right (run with -race).
func TestVerifyConcurrently(t *testing.T) {
	k, _ := GenerateKey()
	msg := []byte("payment")
	sig, _ := k.Sign(msg)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if !k.Public().Verify(msg, sig) {
					errs <- "a valid signature refused"
					return
				}
				if g%2 == 0 && i%5 == 0 {
					o, _ := GenerateKey()
					s, _ := o.Sign(msg)
					if !o.Public().Verify(msg, s) || o.Public().Verify(msg, sig) {
						errs <- "another key judged wrong"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// Many keys' tables in turn, as a validator sees a consortium's senders:
// tables fall out of the processor's caches between two uses (addScalar
// fetches an addition's entries together for that).
func BenchmarkSM2VerifyTabledMany(b *testing.B) {
	const n = 200
	kts := make([]*keyTable, n)
	sigs := make([][]byte, n)
	msg := make([]byte, 256)
	for i := range kts {
		k, _ := GenerateKey()
		kts[i] = tabled(b, k)
		sigs[i], _ = k.Sign(msg)
	}
	i := 0
	for b.Loop() {
		if !kts[i%n].verify(msg, sigs[i%n]) {
			b.Fatal("verify failed")
		}
		i += 7
	}
}

// sumTerms is exact for every sum, whichever addEntry the platform has
// (gmsm's incomplete assembly formula on amd64 and arm64): at random, and
// where the running sum meets ± the entry it adds (a doubling, a
// cancellation, the point at infinity in the middle or at the end), it
// equals the sum taken with addMixed's complete formulas alone.
func TestSumTermsExact(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tab := buildTable(rawAffine(k.Public().raw))
	p, p2, p3 := tab[0][0], tab[0][1], tab[0][2]
	cases := map[string][]addend{
		"P+2P":                            {{p, false}, {p2, false}},
		"P+P, a doubling":                 {{p, false}, {p, false}},
		"−P−P, a doubling":                {{p, true}, {p, true}},
		"P−P, the point at infinity":      {{p, false}, {p, true}},
		"P−P+3P, infinity in the middle":  {{p, false}, {p, true}, {p3, false}},
		"P+2P−3P, infinity at the end":    {{p, false}, {p2, false}, {p3, true}},
		"2P+P+3P, a doubling at the end":  {{p2, false}, {p, false}, {p3, false}},
		"P+2P+64P+P, a doubling far away": {{p, false}, {p2, false}, {tab[1][0], false}, {p3, true}, {p3, false}, {p, false}, {p, false}},
	}
	for i := range 20 {
		ts := make([]addend, 12)
		for j := range ts {
			b := make([]byte, 3)
			_, _ = rand.Read(b)
			ts[j] = addend{tab[int(b[0])%tableWindows][int(b[1])%tableEntries], b[2]&1 == 1}
		}
		cases["random "+string(rune('a'+i))] = ts
	}
	for name, ts := range cases {
		var want jacobian
		for _, a := range ts {
			want = addMixed(want, negated(a.e, a.neg))
		}
		got := sumTerms(ts)
		switch {
		case want.z.isZero() != got.z.isZero():
			t.Fatalf("%s: infinity %v, want %v", name, got.z.isZero(), want.z.isZero())
		case !want.z.isZero() && got.toAffine() != want.toAffine():
			t.Fatalf("%s: wrong sum", name)
		}
	}
}

// The adversary's key: d = 1, so P = G and the key's table is the
// generator's, and the signer can make t·P's and s·G's digits meet in the
// one sum that linearCombination takes (t's digit equal to s's: a
// doubling; opposite: a cancellation). Its valid signatures that do so
// are still accepted and its forgeries refused, as gmsm decides.
func TestFastVerifyCraftedKey(t *testing.T) {
	gk, err := sm2.NewPrivateKeyFromInt(big.NewInt(1))
	if err != nil {
		t.Fatal(err)
	}
	k, err := newPrivateKey(gk)
	if err != nil {
		t.Fatal(err)
	}
	kt := tabled(t, k)
	pub := k.Public().k
	n := curveN
	met := 0
	for i := 0; met < 3 && i < 5000; i++ {
		msg := []byte{byte(i), byte(i >> 8)}
		sig, r, s := signRS(t, k, msg)
		var tb, sb [32]byte
		new(big.Int).Mod(new(big.Int).Add(r, s), n).FillBytes(tb[:])
		s.FillBytes(sb[:])
		dt, ds := digits(&tb), digits(&sb)
		if dt[0] == 0 || (dt[0] != ds[0] && dt[0] != -ds[0]) {
			continue
		}
		met++
		if !kt.verify(msg, sig) || !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
			t.Fatalf("a valid signature whose digits meet (t %d, s %d) refused", dt[0], ds[0])
		}
		// The same t and s with r − 1 and s + 1 (t unchanged): a forgery.
		forged := derSig(new(big.Int).Sub(r, big.NewInt(1)), new(big.Int).Add(s, big.NewInt(1)))
		if got, want := kt.verify(msg, forged), sm2.VerifyASN1WithSM2(pub, nil, msg, forged); got != want {
			t.Fatalf("forgery: table %v, gmsm %v", got, want)
		}
	}
	if met < 3 {
		t.Fatalf("only %d signatures whose first digits meet", met)
	}
}
