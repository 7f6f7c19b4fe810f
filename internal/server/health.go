package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// healthz answers as long as the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Readiness is the body of /readyz.
type Readiness struct {
	Ready         bool   `json:"ready"`
	LogHead       int64  `json:"logHead"`
	AppliedOffset int64  `json:"appliedOffset"`
	ProjectionLag int64  `json:"projectionLag"`
	LogRecords    int64  `json:"logRecords"`
	LogBytes      int64  `json:"logBytes"`
	Store         string `json:"store"` // "ok" or why the graph store is failing
	// MLflow is the MLflow poller's state, when one runs. Its failures do
	// not make Redthread unready: ingest goes on, and the poller retries.
	MLflow *MLflowReadiness `json:"mlflow,omitempty"`
}

// MLflowReadiness reports the MLflow poller in /readyz.
type MLflowReadiness struct {
	TrackingURI string     `json:"trackingUri"`
	LastPass    *time.Time `json:"lastPass,omitempty"`  // when the last pass ended; null before the first
	LastError   string     `json:"lastError,omitempty"` // why the last pass failed, if it did
	CursorStart string     `json:"cursorStartTime,omitempty"`
	Unfinished  int        `json:"unfinishedRuns"` // runs to read again next pass
}

// readyz is ready when the graph store answers. Ingest keeps accepting
// into the log while it does not, so a failing store shows here and in
// the projection lag, not as lost events.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.opts.Ingester.Status()
	rd := Readiness{Ready: st.StoreHealth == nil, LogHead: st.Head, AppliedOffset: st.Applied,
		ProjectionLag: st.Lag(), LogRecords: st.LogRecords, LogBytes: st.LogBytes, Store: "ok"}
	if st.StoreHealth != nil {
		rd.Store = "graph store failing: " + st.StoreHealth.Error()
	} else if s.opts.StoreCheck != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.opts.StoreCheck(ctx); err != nil {
			rd.Ready, rd.Store = false, "graph store unreachable: "+err.Error()
		}
	}
	if s.opts.MLflowStatus != nil {
		rd.MLflow = s.opts.MLflowStatus()
	}
	w.Header().Set("Content-Type", "application/json")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}
