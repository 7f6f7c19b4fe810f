package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// sourceFor names the channel of a request, for the log and metrics.
func sourceFor(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/batch") {
		return "openlineage/http-batch"
	}
	return "openlineage/http"
}

// readBody reads a JSON request body: it checks the media type, undoes gzip
// and enforces the size limit on the decompressed bytes (a small gzip body
// must not expand without bound). It writes the error response itself and
// returns ok=false on failure.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	source := sourceFor(r)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			s.opts.Ingester.CountRejected(source, "UNSUPPORTED_MEDIA_TYPE")
			writeError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
				fmt.Sprintf("Content-Type %q is not supported; send application/json", ct), "Content-Type")
			return nil, false
		}
	}
	var in io.Reader = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	size := int64(-1) // the body's length once decoded, when known
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		size = r.ContentLength
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			s.opts.Ingester.CountRejected(source, graph.EINVALID)
			writeError(w, http.StatusBadRequest, graph.EINVALID, "body is not valid gzip: "+err.Error(), "Content-Encoding")
			return nil, false
		}
		defer zr.Close()
		in = zr
	default:
		s.opts.Ingester.CountRejected(source, "UNSUPPORTED_MEDIA_TYPE")
		writeError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
			fmt.Sprintf("Content-Encoding %q is not supported; use gzip or none", enc), "Content-Encoding")
		return nil, false
	}
	// Read one byte past the limit to tell "exactly at the limit" from "over".
	body, err := readAll(io.LimitReader(in, s.opts.MaxBodyBytes+1), size, s.opts.MaxBodyBytes)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(len(body)) > s.opts.MaxBodyBytes:
		s.opts.Ingester.CountRejected(source, graph.ETOOLARGE)
		writeError(w, http.StatusRequestEntityTooLarge, graph.ETOOLARGE,
			fmt.Sprintf("body exceeds the limit of %d bytes", s.opts.MaxBodyBytes), "")
		return nil, false
	case err != nil:
		s.opts.Ingester.CountRejected(source, graph.EINVALID)
		writeError(w, http.StatusBadRequest, graph.EINVALID, "reading body: "+err.Error(), "")
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		s.opts.Ingester.CountRejected(source, graph.EINVALID)
		writeError(w, http.StatusBadRequest, graph.EINVALID, "empty body: expected an OpenLineage event", "")
		return nil, false
	}
	return body, true
}

// syntaxError reports where a body stops being JSON, or "" if it is JSON.
func syntaxError(body []byte) string {
	if json.Valid(body) {
		return ""
	}
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	}
	return "malformed JSON"
}

// postLineage is the OpenLineage HTTP transport endpoint. Like Marquez it
// answers 201 with an empty body once the event is durable.
func (s *Server) postLineage(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	source := sourceFor(r)
	res := s.opts.Ingester.Submit(r.Context(), []ingest.Input{{Source: source, Body: body}})
	if err := res[0].Err; err != nil {
		// Tell "not JSON at all" (400) from "JSON but not an acceptable
		// event" (422); checked only on failure, to spare accepted events
		// a second pass over their bytes.
		if graph.ErrorCode(err) == graph.EINVALID {
			if msg := syntaxError(body); msg != "" {
				writeError(w, http.StatusBadRequest, graph.EINVALID, msg, "")
				return
			}
		}
		writeDomainError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// BatchResult is the outcome of one event of a batch request.
type BatchResult struct {
	Index     int      `json:"index"`
	Status    int      `json:"status"` // 201 accepted, 200 duplicate, 4xx/5xx rejected
	Offset    int64    `json:"offset,omitempty"`
	Duplicate bool     `json:"duplicate,omitempty"`
	Error     string   `json:"error,omitempty"`
	Message   string   `json:"message,omitempty"`
	Field     string   `json:"field,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// BatchResponse is the body of a batch reply.
type BatchResponse struct {
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Results  []BatchResult `json:"results"`
}

// postLineageBatch takes a JSON array of events. Every valid event is
// logged even when others are rejected; the reply lists each event's fate:
// 201 when all were accepted, 207 (Multi-Status) when some were rejected,
// the first rejection's status when none was accepted.
func (s *Server) postLineageBatch(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	source := sourceFor(r)
	items, err := splitArray(body)
	if err != nil {
		s.opts.Ingester.CountRejected(source, graph.EINVALID)
		msg := err.Error()
		if err == errNotArray {
			msg = "batch body must be a JSON array of OpenLineage events"
		}
		writeError(w, http.StatusBadRequest, graph.EINVALID, msg, "")
		return
	}
	if len(items) == 0 {
		s.opts.Ingester.CountRejected(source, graph.EINVALID)
		writeError(w, http.StatusBadRequest, graph.EINVALID, "batch is empty", "")
		return
	}
	if len(items) > s.opts.MaxBatch {
		s.opts.Ingester.CountRejected(source, graph.ETOOLARGE)
		writeError(w, http.StatusRequestEntityTooLarge, graph.ETOOLARGE,
			fmt.Sprintf("batch has %d events; the limit is %d", len(items), s.opts.MaxBatch), "")
		return
	}
	inputs := make([]ingest.Input, len(items))
	for i, it := range items {
		inputs[i] = ingest.Input{Source: source, Body: it}
	}
	results := s.opts.Ingester.Submit(r.Context(), inputs)
	resp := BatchResponse{Results: make([]BatchResult, len(results))}
	firstStatus := 0
	for i, res := range results {
		br := BatchResult{Index: i, Offset: res.Offset, Duplicate: res.Duplicate, Warnings: res.Warnings}
		switch {
		case res.Err != nil:
			code := graph.ErrorCode(res.Err)
			br.Status, br.Error, br.Field = statusOf(code), code, prefixField(i, graph.ErrorField(res.Err))
			br.Message = "internal error"
			if code != graph.EINTERNAL {
				br.Message = domainMessage(res.Err)
			}
			resp.Rejected++
			if firstStatus == 0 {
				firstStatus = br.Status
			}
		case res.Duplicate:
			br.Status = http.StatusOK
			resp.Accepted++
		default:
			br.Status = http.StatusCreated
			resp.Accepted++
		}
		resp.Results[i] = br
	}
	status := http.StatusCreated
	switch {
	case resp.Rejected > 0 && resp.Accepted > 0:
		status = http.StatusMultiStatus
	case resp.Rejected > 0:
		status = firstStatus
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// prefixField makes a field path absolute within the batch: "[3].run.runId".
func prefixField(i int, field string) string {
	p := fmt.Sprintf("[%d]", i)
	if field == "" {
		return p
	}
	if strings.HasPrefix(field, "[") {
		return p + field
	}
	return p + "." + field
}

// readAll reads r to its end like io.ReadAll, into a buffer of the body's
// declared size when there is one within limit: io.ReadAll grows its
// buffer by doubling, which for a batch of a few hundred kilobytes copied
// it several times over and allocated twice its size. One byte of room is
// left past the size, so that the read at the end finds nothing more
// without growing the buffer; a declared size that is wrong only costs
// the growth io.ReadAll would have done.
func readAll(r io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, size+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		case len(buf) == cap(buf): // longer than declared
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}
