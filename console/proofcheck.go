package console

// The proof check page: a proof bundle (docs/proofs.md) uploaded with
// what the user trusts (the chain's genesis file, or a block height and
// hash), verified offline in the console exactly as `jinlian verify
// proof` verifies it: no node is asked anything.

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/jinlian-ledger/jinlian/proof"
)

type proofData struct {
	Name   string
	Height string
	Hash   string
	Guomi  bool
	Done   bool
	Report *proof.Report
	Err    string
}

func (s *Server) proofPage(w http.ResponseWriter, r *http.Request) {
	v := s.view("proof")
	v.Data = &proofData{}
	s.render(w, v)
}

func (s *Server) proofCheck(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 2*proof.MaxBundleBytes)
	v := s.view("proof")
	d := &proofData{Height: strings.TrimSpace(r.PostFormValue("trust_height")), Hash: strings.TrimSpace(r.PostFormValue("trust_hash")),
		Guomi: r.PostFormValue("guomi") != ""}
	v.Data = d
	rep, verr, err := checkUpload(r, d)
	if err != nil {
		v.fail(tr(s.cfg.Lang, "nav.proof"), err)
		s.render(w, v)
		return
	}
	d.Done, d.Report = true, &rep
	if verr != nil {
		d.Err = verr.Error()
	}
	s.render(w, v)
}

// checkUpload reads the bundle and the trust from the form and verifies;
// err is a form that cannot be checked, verr the verification's failure.
func checkUpload(r *http.Request, d *proofData) (rep proof.Report, verr, err error) {
	f, hdr, err := r.FormFile("bundle")
	if err != nil {
		return rep, nil, fmt.Errorf("choose a proof bundle: %v", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return rep, nil, err
	}
	d.Name = hdr.Filename
	var genesis func() ([]byte, error)
	if g, gh, gerr := r.FormFile("genesis"); gerr == nil {
		defer g.Close()
		if gh.Size > 0 {
			genesis = func() ([]byte, error) { return io.ReadAll(g) }
		}
	}
	var height int64
	if d.Height != "" {
		if height, err = strconv.ParseInt(d.Height, 10, 64); err != nil || height < 1 {
			return rep, nil, fmt.Errorf("trusted height %q: want a positive height", d.Height)
		}
	}
	trust, err := proof.ParseTrust(genesis, height, d.Hash, d.Guomi)
	if err != nil {
		return rep, nil, err
	}
	b, err := proof.Decode(raw)
	if err != nil {
		return rep, nil, fmt.Errorf("%s: %w", hdr.Filename, err)
	}
	rep, verr = proof.Verify(b, trust)
	return rep, verr, nil
}
