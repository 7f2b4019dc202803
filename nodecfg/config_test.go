package nodecfg

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	c.API.Listen = "127.0.0.1:1000"
	c.Log.Level = "warn"
	c.Log.Format = "json"
	if err := c.WriteFile(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JINLIAN_API_LISTEN", "127.0.0.1:2000")
	t.Setenv("JINLIAN_LOG_LEVEL", "debug")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--api.listen=127.0.0.1:3000"}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home, fs)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ key, got, want string }{
		{"flag beats env and file", got.API.Listen, "127.0.0.1:3000"},
		{"env beats file", got.Log.Level, "debug"},
		{"file beats default", got.Log.Format, "json"},
		{"default when unset", got.Node.Mode, ModeValidator},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.key, c.got, c.want)
		}
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	cases := []struct {
		file, wantKey string
	}{
		{"[node]\nmode = \"leader\"\n", "node.mode"},
		{"[api]\nlisten = \"nonsense\"\n", "api.listen"},
		{"[log]\nlevel = \"loud\"\n", "log.level"},
		{"[log]\nformat = \"xml\"\n", "log.format"},
		{"[ledger]\ncache_size = -1\n", "ledger.cache_size"},
		{"[regulator]\nlisten = \"26699\"\n", "regulator.listen"},
		{"[api]\nlisten = \n", "jinlian.toml"},
		{"[api]\nlisen = \"x\"\n", "lisen"},
	}
	for _, c := range cases {
		home := t.TempDir()
		if err := os.MkdirAll(home+"/config", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(Path(home), []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(home, nil)
		if err == nil || !strings.Contains(err.Error(), c.wantKey) {
			t.Errorf("config %q: error %v does not name %s", c.file, err, c.wantKey)
		}
	}
}

func TestTableNamedVariableDoesNotHideTable(t *testing.T) {
	t.Setenv("JINLIAN_NODE", "tcp://127.0.0.1:26657") // the CLI's --node twin
	c, err := Load(t.TempDir(), nil)
	if err != nil || c.Node.Mode != ModeValidator {
		t.Fatalf("JINLIAN_NODE broke node.mode: %+v %v", c, err)
	}
}

func TestMissingFileIsDefaults(t *testing.T) {
	c, err := Load(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.Mode != ModeValidator || c.Ledger.CacheSize != 100000 {
		t.Fatalf("unexpected defaults %+v", c)
	}
}

func TestRegulatorKeysRoundTrip(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	c.Node.Mode = ModeObserver
	c.Regulator.Listen, c.Regulator.Rules, c.Regulator.Key = "127.0.0.1:26699", "/etc/rules.toml", "/keys/regulator.json"
	if err := c.WriteFile(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JINLIAN_REGULATOR_LISTEN", "127.0.0.1:4000")
	got, err := Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Regulator.Listen != "127.0.0.1:4000" || got.Regulator.Rules != "/etc/rules.toml" || got.Regulator.Key != "/keys/regulator.json" {
		t.Fatalf("regulator keys %+v", got.Regulator)
	}
}
