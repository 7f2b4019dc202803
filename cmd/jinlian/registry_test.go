package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/wire"
)

// Every message of the wire registry names a CLI command that exists, and
// every governance action has its `gov propose` subcommand.
func TestRegistryCommandsExist(t *testing.T) {
	root := newRootCmd()
	for _, s := range wire.Messages() {
		words := strings.Fields(s.Command)
		if len(words) < 2 || words[0] != "jinlian" {
			t.Errorf("%s: command %q", s.Name, s.Command)
			continue
		}
		for _, alt := range expand(words[1:]) {
			if alt[len(alt)-1] == "<action>" {
				parent := find(root, alt[:len(alt)-1])
				if parent == nil {
					t.Errorf("%s: no command %q", s.Name, strings.Join(alt[:len(alt)-1], " "))
					continue
				}
				for _, kind := range wire.ProposalTypes() {
					if find(parent, []string{strings.ReplaceAll(kind, "_", "-")}) == nil {
						t.Errorf("governance action %s has no `%s %s` command", kind, s.Command[:strings.Index(s.Command, " <")], strings.ReplaceAll(kind, "_", "-"))
					}
				}
				continue
			}
			if find(root, alt) == nil {
				t.Errorf("%s: no command %q", s.Name, "jinlian "+strings.Join(alt, " "))
			}
		}
	}
}

// expand turns "a b|c" into [a b] and [a c].
func expand(words []string) [][]string {
	out := [][]string{{}}
	for _, w := range words {
		var next [][]string
		for _, alt := range strings.Split(w, "|") {
			for _, prefix := range out {
				next = append(next, append(append([]string{}, prefix...), alt))
			}
		}
		out = next
	}
	return out
}

func find(c *cobra.Command, path []string) *cobra.Command {
	for _, name := range path {
		var next *cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == name {
				next = sub
			}
		}
		if next == nil {
			return nil
		}
		c = next
	}
	return c
}

// docs/cli.md's message table is the registry's: regenerate it with
// JINLIAN_WRITE_DOCS=1 go test ./cmd/jinlian -run TestMessageTableInDocs.
func TestMessageTableInDocs(t *testing.T) {
	const path = "../../docs/cli.md"
	const begin, end = "<!-- messages: begin (generated from wire's registry) -->\n", "<!-- messages: end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated message table markers", path)
	}
	want := messageTable()
	if got := doc[i+len(begin) : j]; got != want {
		if os.Getenv("JINLIAN_WRITE_DOCS") == "1" {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's message table differs from the wire registry; regenerate: JINLIAN_WRITE_DOCS=1 go test ./cmd/jinlian -run TestMessageTableInDocs\n--- want ---\n%s", path, want)
	}
}

func messageTable() string {
	cell := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace
	code := strings.NewReplacer("|", `\|`).Replace
	var b strings.Builder
	b.WriteString("| message | channel | who may send it | events | command |\n|---|---|---|---|---|\n")
	for _, s := range wire.Messages() {
		channel := "a sub-ledger"
		if s.System {
			channel = "`_system`"
		}
		b.WriteString("| `" + s.Name + "` | " + channel + " | " + cell(s.Policy) + " | `" + strings.Join(s.EventTypes(), "`, `") + "` | `" + code(s.Command) + "` |\n")
	}
	return b.String()
}
