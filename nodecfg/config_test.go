package nodecfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
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
		{"[ledger]\nblock_cache_mb = 8\n", "ledger.block_cache_mb"},
		{"[ledger]\nlevel_zero_tables = 4\n", "ledger.level_zero_tables"},
		{"[ledger]\nlevel_zero_tables = 51\n", "ledger.level_zero_tables"},
		{"[ledger]\nvalue_threshold = -1\n", "ledger.value_threshold"},
		{"[ledger]\nvalue_threshold = 1048577\n", "ledger.value_threshold"},
		{"[ledger]\ninner_cache_mb = -1\n", "ledger.inner_cache_mb"},
		{"[regulator]\nlisten = \"26699\"\n", "regulator.listen"},
		{"[regulator]\nrecent_cache_mb = 8\n", "regulator.recent_cache_mb"},
		{"[regulator]\nindex_memtable_mb = 8\n", "regulator.index_memtable_mb"},
		{"[regulator]\nindex_memtable_mb = 512\n", "regulator.index_memtable_mb"},
		{"[checkpoint]\nanchor = \"0x1234\"\n", "checkpoint.anchor"},
		{"[checkpoint]\nprover = true\neth_rpc = \"http://127.0.0.1:8545\"\n", "checkpoint.eth_key"},
		{"[events]\nindex = \"some\"\n", "events.index"},
		{"[recon]\ntimezone = \"Asia/Atlantis\"\n", "recon.timezone"},
		{"[recon]\ntimezone = \"\"\n", "recon.timezone"},
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

func TestValidateAPITLS(t *testing.T) {
	const gmFiles = "cert_file = \"s.pem\"\nkey_file = \"s.key\"\nenc_cert_file = \"e.pem\"\nenc_key_file = \"e.key\"\n"
	cases := []struct {
		name, api, wantErr string // wantErr "" = valid; else the key it must name
	}{
		{"plain HTTP is the default", "", ""},
		{"unknown mode", "tls = \"ssl3\"\n", "api.tls"},
		{"gmtls with dual certificates", "tls = \"gmtls\"\n" + gmFiles, ""},
		{"gmtls with mutual TLS", "tls = \"gmtls\"\n" + gmFiles + "client_ca_file = \"ca.pem\"\n", ""},
		{"gmtls without the encryption certificate", "tls = \"gmtls\"\ncert_file = \"s.pem\"\nkey_file = \"s.key\"\nenc_key_file = \"e.key\"\n", "api.enc_cert_file"},
		{"gmtls without the encryption key", "tls = \"gmtls\"\ncert_file = \"s.pem\"\nkey_file = \"s.key\"\nenc_cert_file = \"e.pem\"\n", "api.enc_key_file"},
		{"tls13 with certificate and key", "tls = \"tls13\"\ncert_file = \"s.pem\"\nkey_file = \"/abs/s.key\"\n", ""},
		{"tls13 without a certificate", "tls = \"tls13\"\nkey_file = \"s.key\"\n", "api.cert_file"},
		{"tls13 without a key", "tls = \"tls13\"\ncert_file = \"s.pem\"\n", "api.key_file"},
		{"tls13 with an encryption certificate", "tls = \"tls13\"\ncert_file = \"s.pem\"\nkey_file = \"s.key\"\nenc_cert_file = \"e.pem\"\n", "api.enc_cert_file"},
		{"client CA without TLS", "client_ca_file = \"ca.pem\"\n", "api.client_ca_file"},
		{"certificate without TLS", "tls = \"none\"\ncert_file = \"s.pem\"\n", "api.cert_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.MkdirAll(home+"/config", 0o755); err != nil {
				t.Fatal(err)
			}
			file := "[api]\nlisten = \"127.0.0.1:26680\"\n" + c.api
			if err := os.WriteFile(Path(home), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(home, nil)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "config "+c.wantErr)):
				t.Fatalf("error %v does not name %s", err, c.wantErr)
			}
		})
	}
}

func TestAPITLSKeysRoundTrip(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	c.API.Listen = "127.0.0.1:26680"
	c.API.TLS = APITLSGM
	c.API.CertFile, c.API.KeyFile = "config/api_sign.pem", "config/api_sign_key.pem"
	c.API.EncCertFile, c.API.EncKeyFile = "config/api_enc.pem", "config/api_enc_key.pem"
	c.API.ClientCAFile = "/etc/jinlian/client_cas.pem"
	if err := c.WriteFile(); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	got.Home = c.Home
	if got.API != c.API {
		t.Fatalf("read back %+v, wrote %+v", got.API, c.API)
	}
	if p := got.HomePath(got.API.CertFile); p != filepath.Join(home, "config/api_sign.pem") {
		t.Errorf("relative path resolves to %s", p)
	}
	if p := got.HomePath(got.API.ClientCAFile); p != "/etc/jinlian/client_cas.pem" {
		t.Errorf("absolute path resolves to %s", p)
	}
	// Every key has an env twin and a flag. (viper ignores empty
	// environment variables, so only flags can clear a key.)
	t.Setenv("JINLIAN_API_TLS", APITLSTLS13)
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--api.client_ca_file=ca.pem", "--api.enc_cert_file=", "--api.enc_key_file="}); err != nil {
		t.Fatal(err)
	}
	got, err = Load(home, fs)
	if err != nil {
		t.Fatal(err)
	}
	if got.API.TLS != APITLSTLS13 || got.API.ClientCAFile != "ca.pem" || got.API.EncCertFile != "" {
		t.Fatalf("env and flag not applied: %+v", got.API)
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

// TestEventsIndex: auto resolves by the node's mode and whether it serves
// the API (ADR 0028); an explicit value stands; LeanIndex and NoTxIndex
// follow the resolved index.
func TestEventsIndex(t *testing.T) {
	for _, c := range []struct {
		mode, index, api string
		movements        bool // recon.movement_index
		want             string
	}{
		{ModeValidator, EventsIndexAuto, "", true, EventsIndexNone},
		{ModeValidator, EventsIndexAuto, "127.0.0.1:26680", true, EventsIndexNone},
		{ModeValidator, EventsIndexAuto, "127.0.0.1:26680", false, EventsIndexLean},
		{ModeValidator, EventsIndexAuto, "", false, EventsIndexNone},
		{ModeObserver, EventsIndexAuto, "", true, EventsIndexFull},
		{ModeObserver, EventsIndexAuto, "127.0.0.1:26680", true, EventsIndexFull},
		{ModeValidator, EventsIndexFull, "", true, EventsIndexFull},
		{ModeValidator, EventsIndexLean, "127.0.0.1:26680", true, EventsIndexLean},
		{ModeObserver, EventsIndexLean, "", true, EventsIndexLean},
		{ModeObserver, EventsIndexNone, "", true, EventsIndexNone},
	} {
		var cfg Config
		cfg.Node.Mode, cfg.Events.Index, cfg.API.Listen, cfg.Recon.MovementIndex = c.mode, c.index, c.api, c.movements
		got := cfg.EventsIndex()
		if got != c.want {
			t.Errorf("%+v: %s, want %s", c, got, c.want)
		}
		if lean := cfg.LeanIndex(); lean != (c.want != EventsIndexFull) {
			t.Errorf("%+v: LeanIndex %v", c, lean)
		}
		if none := cfg.NoTxIndex(); none != (c.want == EventsIndexNone) {
			t.Errorf("%+v: NoTxIndex %v", c, none)
		}
	}
}

// TestEventsIndexRefused: an unknown events.index, and none on a node
// that serves the API without the movement index (which its statements
// and memo searches then read), are refused with the settings named.
func TestEventsIndexRefused(t *testing.T) {
	for _, c := range []struct {
		index, api string
		movements  bool
		want       string
	}{
		{"off", "", true, `events.index = "off": want "auto", "full", "lean" or "none"`},
		{EventsIndexNone, "127.0.0.1:26680", false, `events.index = "none" with api.listen = "127.0.0.1:26680" and recon.movement_index = false`},
	} {
		cfg := Default(t.TempDir())
		cfg.Events.Index, cfg.API.Listen, cfg.Recon.MovementIndex = c.index, c.api, c.movements
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c, err, c.want)
		}
	}
	for _, api := range []string{"", "127.0.0.1:26680"} {
		cfg := Default(t.TempDir())
		cfg.Events.Index, cfg.API.Listen = EventsIndexNone, api
		if !cfg.Recon.MovementIndex {
			t.Fatal("recon.movement_index is off by default")
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("events.index none, api.listen %q: %v", api, err)
		}
	}
}

// TestRegulatorTLS: the regulator API takes the node API's transport and
// certificates by default, its own where set, and names a missing file.
func TestRegulatorTLS(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	if got := c.RegulatorTLS(); got.Mode != APITLSNone {
		t.Fatalf("default without certificates: %+v", got)
	}
	c.API.TLS, c.API.CertFile, c.API.KeyFile, c.API.EncCertFile, c.API.EncKeyFile = APITLSGM, "sign.pem", "sign.key", "enc.pem", "enc.key"
	if got := c.RegulatorTLS(); got.Mode != APITLSGM || got.CertFile != filepath.Join(home, "sign.pem") || got.EncKeyFile != filepath.Join(home, "enc.key") {
		t.Fatalf("auto with the API's GM TLS: %+v", got)
	}
	c.Regulator.TLS, c.Regulator.TLSCertFile, c.Regulator.TLSKeyFile = APITLSTLS13, "/reg.pem", "/reg.key"
	if got := c.RegulatorTLS(); got.Mode != APITLSTLS13 || got.CertFile != "/reg.pem" || got.EncCertFile != "" {
		t.Fatalf("own tls13: %+v", got)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := Default(home)
	d.Regulator.TLS = APITLSTLS13
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "regulator.tls_cert_file") {
		t.Fatalf("tls13 without a certificate: %v", err)
	}
	d.Regulator.TLS = "ssl"
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "regulator.tls") {
		t.Fatalf("unknown mode: %v", err)
	}
	d = Default(home)
	d.Regulator.Hosts, d.Regulator.InsecurePlainHTTP = " reg.example:26699, 10.0.0.5 ", true
	if err := d.WriteFile(); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := got.RegulatorHosts(); len(h) != 2 || h[0] != "reg.example:26699" || !got.Regulator.InsecurePlainHTTP {
		t.Fatalf("round trip: %+v %v", got.Regulator, h)
	}
}

// TestWriteFileWritesEveryKey: a config written by WriteFile and read back
// keeps every key of the defaults table (events.* and recon.* included).
func TestWriteFileWritesEveryKey(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	c.Events.Index, c.Events.ReindexFrom, c.Recon.TimeZone = EventsIndexFull, 7, "Europe/London"
	if err := c.WriteFile(); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	v.SetConfigFile(Path(home))
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	for _, d := range defaults {
		if !v.InConfig(d.key) {
			t.Errorf("WriteFile leaves out %s", d.key)
		}
	}
	back, err := Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if back.Events.Index != EventsIndexFull || back.Events.ReindexFrom != 7 || back.Recon.TimeZone != "Europe/London" {
		t.Fatalf("read back %+v %+v", back.Events, back.Recon)
	}
	if loc, err := back.Location(); err != nil || loc.String() != "Europe/London" {
		t.Fatalf("Location: %v %v", loc, err)
	}
	if loc, err := Default(home).Location(); err != nil || loc.String() != DefaultTimeZone {
		t.Fatalf("default Location: %v %v", loc, err)
	}
}

func TestValidatePruning(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string // "" = valid
	}{
		{"defaults keep everything", func(*Config) {}, ""},
		{"a validator bounds its disk", func(c *Config) {
			c.Pruning.KeepRecent, c.Pruning.RetainBlocks, c.Pruning.SpentIDs = 1000, 1000, true
		}, ""},
		{"negative min_free_disk_mb", func(c *Config) { c.Node.MinFreeDiskMB = -1 }, "node.min_free_disk_mb = -1"},
		{"negative block_sync_gap", func(c *Config) { c.Node.BlockSyncGap = -1 }, "node.block_sync_gap = -1"},
		{"negative max_proposal_txs", func(c *Config) { c.Node.MaxProposalTxs = -1 }, "node.max_proposal_txs = -1"},
		{"negative keep_recent", func(c *Config) { c.Pruning.KeepRecent = -1 }, "pruning.keep_recent = -1"},
		{"too few versions", func(c *Config) { c.Pruning.KeepRecent = 3 }, "at least 10"},
		{"too few blocks", func(c *Config) { c.Pruning.RetainBlocks = 9 }, "pruning.retain_blocks = 9"},
		{"no interval", func(c *Config) { c.Pruning.Interval = 0 }, "pruning.interval = 0"},
		{"negative snapshot interval", func(c *Config) { c.Statesync.SnapshotInterval = -1 }, "statesync.snapshot_interval = -1"},
		{"an observer prunes", func(c *Config) { c.Node.Mode, c.Pruning.KeepRecent = ModeObserver, 1000 }, "an observer keeps everything"},
		{"an observer drops spent ids", func(c *Config) { c.Node.Mode, c.Pruning.SpentIDs = ModeObserver, true }, "an observer keeps everything"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default(t.TempDir())
			c.set(cfg)
			err := cfg.Validate()
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
}
