package console

// The reconciliation page's column mapping, kept across restarts: the
// last mapping each bank (organisation) used, in one small JSON file of
// the user's config dir, shared by the consoles of every bank the user
// runs on this machine. It is a convenience, not a record: the signed
// result carries what was reconciled.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// MappingsFile is the file, in Config.StateDir, that keeps the column
// mappings.
const MappingsFile = "console-mappings.json"

// mappingsVersion is the file's format.
const mappingsVersion = 1

// mappingsDoc is the file: by organisation (the MSP id), the TOML text of
// the mapping its last reconciliation used.
type mappingsDoc struct {
	Version  int               `json:"version"`
	Mappings map[string]string `json:"mappings"`
}

// mappingStore is the last mapping used by the console's organisation:
// in memory, and in dir's MappingsFile when dir is set.
type mappingStore struct {
	mu   sync.Mutex
	dir  string // "": memory only
	org  string
	toml string
	// loadErr is why the file could not be read at start: shown on the
	// page, and the file is left as it is (not overwritten) until fixed.
	loadErr error
}

func (m *mappingStore) path() string { return filepath.Join(m.dir, MappingsFile) }

// load reads the organisation's mapping from the file; a missing file is
// no mapping.
func (m *mappingStore) load() error {
	if m.dir == "" {
		return nil
	}
	doc, err := m.read()
	if err != nil {
		m.loadErr = err
		return err
	}
	m.toml = doc.Mappings[m.org]
	return nil
}

// read decodes the file (an empty document when there is none).
func (m *mappingStore) read() (mappingsDoc, error) {
	doc := mappingsDoc{Version: mappingsVersion, Mappings: map[string]string{}}
	raw, err := os.ReadFile(m.path())
	if errors.Is(err, fs.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return doc, fmt.Errorf("saved column mappings %s: %w", m.path(), err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return doc, fmt.Errorf("saved column mappings %s: not a mappings file (%v): fix or delete it; until then mappings are not saved", m.path(), err)
	}
	if doc.Version != mappingsVersion {
		return doc, fmt.Errorf("saved column mappings %s: version %d, this console reads version %d: mappings are not saved", m.path(), doc.Version, mappingsVersion)
	}
	if doc.Mappings == nil {
		doc.Mappings = map[string]string{}
	}
	return doc, nil
}

// last is the mapping last used, or "" for none.
func (m *mappingStore) last() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.toml, m.loadErr
}

// save keeps toml as the organisation's mapping: in memory always, and in
// the file, read again first (another console may have saved another
// bank's) and replaced atomically (a temporary file renamed over it), so
// that a console stopped mid-write leaves the old file or the new one.
func (m *mappingStore) save(toml string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.toml = toml
	if m.dir == "" {
		return nil
	}
	doc, err := m.read()
	if err != nil {
		return err
	}
	if doc.Mappings[m.org] == toml {
		return nil
	}
	doc.Mappings[m.org] = toml
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return fmt.Errorf("save the column mapping: %w", err)
	}
	tmp, err := os.CreateTemp(m.dir, MappingsFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("save the column mapping: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing there
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save the column mapping: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save the column mapping: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save the column mapping: %w", err)
	}
	if err := os.Rename(tmp.Name(), m.path()); err != nil {
		return fmt.Errorf("save the column mapping: %w", err)
	}
	m.loadErr = nil
	return nil
}
