package gmcrypto

import (
	"bytes"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("payload")
	sig, err := k.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	emptySig, err := k.Sign(nil)
	if err != nil {
		t.Fatalf("sign empty message: %v", err)
	}
	other, _ := GenerateKey()
	tampered := append([]byte{}, sig...)
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name string
		pub  *PublicKey
		msg  []byte
		sig  []byte
		want bool
	}{
		{"valid", k.Public(), msg, sig, true},
		{"other message", k.Public(), []byte("payloaD"), sig, false},
		{"other key", other.Public(), msg, sig, false},
		{"tampered signature", k.Public(), msg, tampered, false},
		{"garbage signature", k.Public(), msg, []byte{1, 2, 3}, false},
		{"empty signature", k.Public(), msg, nil, false},
		{"empty message", k.Public(), nil, emptySig, true},
		{"empty message, other message's signature", k.Public(), nil, sig, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.pub.Verify(c.msg, c.sig); got != c.want {
				t.Fatalf("Verify = %v, want %v", got, c.want)
			}
		})
	}
}

func TestKeyEncodings(t *testing.T) {
	k, _ := GenerateKey()
	pub := k.Public()
	p2, err := ParsePublicKey(pub.Bytes())
	if err != nil || !p2.Equal(pub) {
		t.Fatalf("raw round trip: %v", err)
	}
	p3, err := ParsePublicKeyPEM(pub.MarshalPEM())
	if err != nil || !p3.Equal(pub) {
		t.Fatalf("PEM round trip: %v", err)
	}
	der, err := k.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParsePKCS8PrivateKey(der)
	if err != nil || !k2.Public().Equal(pub) {
		t.Fatalf("PKCS8 round trip: %v", err)
	}
	if pub.Address() != p2.Address() {
		t.Fatal("address differs for equal keys")
	}
	h := SM3(pub.Bytes())
	if !bytes.Equal(pub.Address().Bytes(), h[12:]) {
		t.Fatal("address is not the last 20 bytes of SM3(pub)")
	}
	compressed := append([]byte{2 + pub.Bytes()[64]&1}, pub.Bytes()[1:33]...)
	for _, bad := range [][]byte{nil, {4}, bytes.Repeat([]byte{4}, 65), compressed, append(pub.Bytes(), 0)} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Fatalf("ParsePublicKey(%x) accepted", bad)
		}
	}
	if _, err := ParsePublicKeyPEM([]byte("not pem")); err == nil {
		t.Fatal("ParsePublicKeyPEM accepted garbage")
	}
}

func TestParseAddress(t *testing.T) {
	k, _ := GenerateKey()
	a := k.Public().Address()
	for _, s := range []string{a.String(), "0x" + a.String()} {
		got, err := ParseAddress(s)
		if err != nil || got != a {
			t.Fatalf("ParseAddress(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "zz", a.String()[2:], a.String() + "00"} {
		if _, err := ParseAddress(s); err == nil {
			t.Fatalf("ParseAddress(%q) accepted", s)
		}
	}
}

// TestAddressString pins the form every state key built from an address
// uses: forty lowercase hex digits, no prefix.
func TestAddressString(t *testing.T) {
	var a Address
	for i := range a {
		a[i] = byte(i*13 + 0x0a)
	}
	const want = "0a1724313e4b5865727f8c99a6b3c0cddae7f401"
	if got := a.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got := (Address{}).String(); got != strings.Repeat("0", 40) {
		t.Fatalf("zero address String() = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = a.String() }); n > 1 {
		t.Fatalf("String() allocates %v times, want 1", n)
	}
}

func TestSM3Vector(t *testing.T) {
	// GB/T 32905-2016 example 1: SM3("abc").
	got := SM3([]byte("abc"))
	const want = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if hexs(got[:]) != want {
		t.Fatalf("SM3(abc) = %x", got)
	}
}
