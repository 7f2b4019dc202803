package regulator

import (
	"strings"
	"testing"
)

func TestParseRulesNamesTheProblem(t *testing.T) {
	cases := []struct {
		name, toml, want string
	}{
		{"unknown rule table", "[large]\n", "unknown key"},
		{"unknown key", "[velocity]\nwindow = \"1h\"\nmax_cnt = 3\n", "max_cnt"},
		{"bad severity", "[large_amount]\nseverity = \"urgent\"\n", "large_amount.severity"},
		{"bad window", "[structuring]\nwindow = \"a day\"\n", "a day"},
		{"structuring needs count ≥ 2", "[structuring]\nwindow = \"1h\"\ncount = 1\nmargin = 0.1\n", "structuring"},
		{"percent in range", "[fast_in_fast_out]\nwindow = \"1h\"\npercent = 120\n[structuring]\nenabled = false\n[velocity]\nenabled = false\n", "fast_in_fast_out"},
		{"unknown time zone", "[structuring]\nenabled = false\n[velocity]\nenabled = false\n[fast_in_fast_out]\nenabled = false\n[cross_border]\ntimezone = \"Mars/Olympus\"\n", "cross_border.timezone"},
		{"pair limit needs an amount", "[structuring]\nenabled = false\n[velocity]\nenabled = false\n[fast_in_fast_out]\nenabled = false\n[[cross_border.limit]]\nfrom = \"a\"\nto = \"b\"\nasset = \"CNY\"\n", "cross_border.limit[0]"},
	}
	for _, c := range cases {
		_, err := ParseRules([]byte(c.toml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v does not name %q", c.name, err, c.want)
		}
	}
	if _, err := ParseRules([]byte(DefaultRulesTOML)); err != nil {
		t.Fatalf("default rules: %v", err)
	}
	c, err := ParseRules([]byte("[large_amount]\nenabled = false\n[structuring]\nenabled = false\n[velocity]\nenabled = false\n[fast_in_fast_out]\nenabled = false\n"))
	if err != nil || enabled(c.Large.Enabled) || c.CrossBorder.Timezone != "UTC" || c.Sanctions.Severity != SeverityCritical {
		t.Fatalf("disabled rules: %+v %v", c, err)
	}
}

// FuzzParseRules: a rule file is outside input; it must fail cleanly.
func FuzzParseRules(f *testing.F) {
	f.Add([]byte(DefaultRulesTOML))
	f.Add([]byte(testRulesTOML))
	f.Add([]byte("[velocity]\nwindow = \"-1h\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseRules(b)
		if err == nil {
			if _, err := NewEngine(c); err != nil {
				t.Fatalf("parsed rules rejected by the engine: %v", err)
			}
		}
	})
}
