package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ErrNotYet, wrapped by a QCSource, says the certificate is not committed
// yet (HTTP 404, not 502).
var ErrNotYet = errors.New("not committed yet")

// QCSource reads the SM2 quorum certificate of a height from the node's
// block store (proof.FetchQC, over wire.QCAt), as a JSON-encodable value.
type QCSource func(ctx context.Context, height int64) (any, error)

// qc serves GET /v1/qc?height=H: the SM2 quorum certificate of height H,
// which block H+2 carries. Hashes and signatures only, like a signed
// header: any client the TLS layer admits may read it, as it may read
// commit (members may read no raw block, so the certificate is served here
// rather than through /block).
func (s *Server) qc(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) { writeJSON(w, code, map[string]string{"error": err.Error()}) }
	if s.opts.QC == nil {
		fail(http.StatusNotFound, errors.New("this node serves no quorum certificates"))
		return
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err == nil && (len(vals) != 1 || len(vals["height"]) != 1) {
		err = errors.New("want exactly one parameter, height")
	}
	var h int64
	if err == nil {
		if h, err = strconv.ParseInt(vals["height"][0], 10, 64); err != nil || h < 1 {
			err = fmt.Errorf("height %q: want a positive integer", vals["height"][0])
		}
	}
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/qc: %w", err))
		return
	}
	out, err := s.opts.QC(r.Context(), h)
	writeFromNode(w, out, err)
}

// writeFromNode answers what the node gave: out, or 404 for what is not
// committed yet (ErrNotYet), 502 for any other failure.
func writeFromNode(w http.ResponseWriter, out any, err error) {
	switch {
	case errors.Is(err, ErrNotYet):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, out)
	}
}
