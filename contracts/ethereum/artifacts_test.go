package ethereum

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/ethereum/bindings"
)

type manifest struct {
	Solc   string            `json:"solc"`
	SHA256 map[string]string `json:"sha256"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile("build/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A source edited without running gen.sh, or an artifact edited by hand,
// no longer matches the hashes recorded at generation time.
func TestArtifactsMatchManifest(t *testing.T) {
	m := readManifest(t)
	for _, f := range []string{"Verifier.sol", "CheckpointAnchor.sol", "compile.js",
		"build/Verifier.abi", "build/Verifier.bin", "build/CheckpointAnchor.abi", "build/CheckpointAnchor.bin"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != m.SHA256[f] {
			t.Errorf("%s has SHA-256 %s, build/manifest.json records %s: run contracts/ethereum/gen.sh", f, got, m.SHA256[f])
		}
	}
	if !strings.HasPrefix(m.Solc, "0.8.30+") {
		t.Errorf("artifacts compiled with solc %s, package.json pins 0.8.30", m.Solc)
	}
}

// The Go bindings embed the ABI and bytecode they were generated from.
func TestBindingsMatchBuild(t *testing.T) {
	for _, c := range []struct {
		name     string
		abi, bin string
	}{
		{"CheckpointAnchor", bindings.CheckpointAnchorMetaData.ABI, bindings.CheckpointAnchorMetaData.Bin},
		{"Verifier", bindings.VerifierMetaData.ABI, bindings.VerifierMetaData.Bin},
	} {
		abiFile, err := os.ReadFile(filepath.Join("build", c.name+".abi"))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, abiFile, []byte(c.abi)) {
			t.Errorf("bindings of %s embed another ABI than build/%s.abi: run gen.sh", c.name, c.name)
		}
		binFile, err := os.ReadFile(filepath.Join("build", c.name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		if "0x"+strings.TrimSpace(string(binFile)) != c.bin {
			t.Errorf("bindings of %s embed other bytecode than build/%s.bin: run gen.sh", c.name, c.name)
		}
	}
}

// With node and the pinned solc-js installed (npm install in this folder),
// recompiling must reproduce the committed bytecode exactly. CI runs it
// when the compiler is there; without it the manifest check above still
// ties the committed bytecode to the committed sources.
func TestRecompileReproducesBytecode(t *testing.T) {
	if _, err := os.Stat("node_modules/solc"); err != nil {
		t.Skip("solc-js not installed (npm install in contracts/ethereum); manifest check only")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := t.TempDir()
	for _, f := range []string{"Verifier.sol", "CheckpointAnchor.sol", "compile.js"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs, _ := filepath.Abs("node_modules")
	if err := os.Symlink(abs, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, filepath.Join(dir, "compile.js")).CombinedOutput()
	if err != nil {
		t.Fatalf("compile.js: %v\n%s", err, out)
	}
	for _, f := range []string{"Verifier.abi", "Verifier.bin", "CheckpointAnchor.abi", "CheckpointAnchor.bin"} {
		want, _ := os.ReadFile(filepath.Join("build", f))
		got, _ := os.ReadFile(filepath.Join(dir, "build", f))
		if !bytes.Equal(got, want) {
			t.Errorf("recompiled %s differs from the committed build/%s: run gen.sh", f, f)
		}
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	// abigen drops the spaces inside the ABI it embeds ("contract IVerifier").
	strip := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(" "), nil) }
	return bytes.Equal(strip(xb), strip(yb))
}
