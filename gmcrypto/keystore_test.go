package gmcrypto

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func saveTestKey(t *testing.T, dir string) (string, *PrivateKey) {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alice.key")
	if err := SaveKey(path, KeyInfo{Name: "alice", Org: "bankA"}, k, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	return path, k
}

func TestKeystoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, k := saveTestKey(t, dir)

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}

	info, err := ReadKeyInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	want := KeyInfo{Name: "alice", Org: "bankA", Address: k.Public().Address().String(), PublicKey: string(k.Public().MarshalPEM())}
	if info != want {
		t.Fatalf("ReadKeyInfo = %+v, want %+v", info, want)
	}

	info2, k2, err := LoadKey(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if info2 != want || !k2.Public().Equal(k.Public()) {
		t.Fatal("LoadKey returned a different key or info")
	}
	sig, _ := k2.Sign([]byte("m"))
	if !k.Public().Verify([]byte("m"), sig) {
		t.Fatal("loaded key does not sign for the saved public key")
	}

	// The file names its algorithms and parameters and holds no plaintext key.
	raw, _ := os.ReadFile(path)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	c := m["crypto"].(map[string]any)
	p := c["kdf_params"].(map[string]any)
	if c["kdf"] != "pbkdf2-hmac-sm3" || c["cipher"] != "sm4-gcm" || p["iterations"].(float64) < 100000 || len(p["salt"].(string)) != 32 {
		t.Fatalf("crypto section %v", c)
	}
	der, _ := k.MarshalPKCS8()
	if strings.Contains(string(raw), hexs(der)) {
		t.Fatal("plaintext key in file")
	}
}

func TestKeystoreErrors(t *testing.T) {
	dir := t.TempDir()
	path, k := saveTestKey(t, dir)
	raw, _ := os.ReadFile(path)

	t.Run("wrong passphrase", func(t *testing.T) {
		_, _, err := LoadKey(path, []byte("wrong"))
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("err = %v, want ErrWrongPassphrase", err)
		}
	})
	t.Run("refuses to overwrite", func(t *testing.T) {
		err := SaveKey(path, KeyInfo{Name: "bob"}, k, []byte("x"))
		if !errors.Is(err, ErrKeyExists) {
			t.Fatalf("err = %v, want ErrKeyExists", err)
		}
		if now, _ := os.ReadFile(path); string(now) != string(raw) {
			t.Fatal("existing file changed")
		}
	})
	t.Run("empty passphrase refused", func(t *testing.T) {
		if err := SaveKey(filepath.Join(dir, "e.key"), KeyInfo{}, k, nil); err == nil {
			t.Fatal("accepted empty passphrase")
		}
	})
	t.Run("certificate of another key refused", func(t *testing.T) {
		other, _ := GenerateKey()
		ca, err := CreateRootCA("bankA", other, testNow, 10)
		if err != nil {
			t.Fatal(err)
		}
		err = SaveKey(filepath.Join(dir, "c.key"), KeyInfo{Certificate: string(ca)}, k, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "not for this key") {
			t.Fatalf("err = %v", err)
		}
	})

	edit := func(t *testing.T, f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		p := filepath.Join(t.TempDir(), "edited.key")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crypto := func(m map[string]any) map[string]any { return m["crypto"].(map[string]any) }
	params := func(m map[string]any) map[string]any { return crypto(m)["kdf_params"].(map[string]any) }
	other, _ := GenerateKey()
	cases := []struct {
		name    string
		edit    func(m map[string]any)
		want    error
		wantMsg string
	}{
		{"unsupported kdf", func(m map[string]any) { crypto(m)["kdf"] = "scrypt" }, ErrUnsupportedKeyFile, `kdf "scrypt"`},
		{"unsupported cipher", func(m map[string]any) { crypto(m)["cipher"] = "aes-gcm" }, ErrUnsupportedKeyFile, `cipher "aes-gcm"`},
		{"too few iterations", func(m map[string]any) { params(m)["iterations"] = 1000 }, ErrUnsupportedKeyFile, "below the minimum"},
		{"too many iterations", func(m map[string]any) { params(m)["iterations"] = 1 << 40 }, ErrUnsupportedKeyFile, "above the maximum"},
		{"future version", func(m map[string]any) { m["version"] = 2 }, ErrUnsupportedKeyFile, "version 2"},
		{"no version", func(m map[string]any) { delete(m, "version") }, ErrMalformedKeyFile, "no version"},
		{"salt not hex", func(m map[string]any) { params(m)["salt"] = "zz" }, ErrMalformedKeyFile, "invalid byte"},
		{"short ciphertext", func(m map[string]any) { crypto(m)["ciphertext"] = "00" }, ErrMalformedKeyFile, "too short"},
		{"address swapped", func(m map[string]any) { m["address"] = other.Public().Address().String() }, ErrMalformedKeyFile, "does not belong"},
		{"public key and address swapped", func(m map[string]any) {
			m["address"] = other.Public().Address().String()
			m["public_key"] = string(other.Public().MarshalPEM())
		}, ErrWrongPassphrase, ""}, // AAD binds the address: indistinguishable from a wrong passphrase
		{"ciphertext flipped", func(m map[string]any) {
			ct := []byte(crypto(m)["ciphertext"].(string))
			// Another hex digit, so that the file still parses.
			if ct[40] == '0' {
				ct[40] = '1'
			} else {
				ct[40] = '0'
			}
			crypto(m)["ciphertext"] = string(ct)
		}, ErrWrongPassphrase, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := edit(t, c.edit)
			_, _, err := LoadKey(p, []byte("correct horse"))
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.wantMsg) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.wantMsg)
			}
		})
	}
	t.Run("not json", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.key")
		os.WriteFile(p, []byte("-----BEGIN"), 0o600)
		if _, err := ReadKeyInfo(p); !errors.Is(err, ErrMalformedKeyFile) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := ReadKeyInfo(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestKeystoreWithCertificate(t *testing.T) {
	caKey, _ := GenerateKey()
	ca, err := CreateRootCA("bankA", caKey, testNow, 365)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := GenerateKey()
	cert, err := IssueCertificate(ca, caKey, "alice", "bankA", RoleClient, k.Public(), testNow, 30)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alice.key")
	if err := SaveKey(path, KeyInfo{Name: "alice", Org: "bankA", Certificate: string(cert)}, k, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	info, _, err := LoadKey(path, []byte("pw"))
	if err != nil || info.Certificate != string(cert) {
		t.Fatalf("certificate not kept: %v", err)
	}
}

func TestReadPassphrase(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	cases := []struct {
		name    string
		file    string
		env     *string
		want    string
		wantErr string
	}{
		{"file trailing newline trimmed", write("a", "s3cret\n"), nil, "s3cret", ""},
		{"file CRLF trimmed", write("b", "s3cret\r\n"), nil, "s3cret", ""},
		{"file inner spaces kept", write("c", " two words \n"), nil, " two words ", ""},
		{"file wins over env", write("d", "fromfile"), ptr("fromenv"), "fromfile", ""},
		{"empty file", write("e", "\n"), nil, "", "is empty"},
		{"missing file", filepath.Join(dir, "none"), nil, "", "no such file"},
		{"env", "", ptr("fromenv"), "fromenv", ""},
		{"env set but empty", "", ptr(""), "", "set but empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != nil {
				t.Setenv(PassphraseEnv, *c.env)
			} else {
				t.Setenv(PassphraseEnv, "")
				os.Unsetenv(PassphraseEnv)
			}
			got, err := ReadPassphrase(c.file, "")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	t.Run("no source names the three ways", func(t *testing.T) {
		t.Setenv(PassphraseEnv, "")
		os.Unsetenv(PassphraseEnv)
		devnull, _ := os.Open(os.DevNull)
		defer devnull.Close()
		old := os.Stdin
		os.Stdin = devnull
		defer func() { os.Stdin = old }()
		_, err := ReadPassphrase("", "")
		if !errors.Is(err, ErrNoPassphrase) {
			t.Fatalf("err = %v", err)
		}
		for _, w := range []string{"--passphrase-file", PassphraseEnv, "interactive prompt"} {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("error %q does not mention %q", err, w)
			}
		}
	})
}

func ptr(s string) *string { return &s }
