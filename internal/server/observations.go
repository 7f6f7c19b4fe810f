package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest/mlflow"
)

// MLflowObserver is the part of the MLflow observer the server uses.
type MLflowObserver interface {
	Observe(ctx context.Context, source string, obs []*mlflow.Observation) []mlflow.ObserveResult
}

// ObservationResult is the outcome of one observation of a request.
type ObservationResult struct {
	Index   int    `json:"index"`
	Key     string `json:"key,omitempty"`
	Status  string `json:"status"` // new, changed, changed_after_finish, unchanged, rejected
	Offset  int64  `json:"offset,omitempty"`
	Changes int    `json:"changes,omitempty"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// ObservationsResponse is the body of a reply to POST
// /api/v1/mlflow/observations.
type ObservationsResponse struct {
	Results []ObservationResult `json:"results"`
}

// postObservations takes a JSON array of MLflow observations (what
// `redthread mlflow sync` reads from an MLflow server) and hands them to
// the observer, which appends those that changed. It answers 200 when
// none was rejected and 207 otherwise, with each observation's outcome.
func (s *Server) postObservations(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	raw, err := splitArray(body)
	if err != nil {
		msg := err.Error()
		if err == errNotArray {
			msg = "the body must be a JSON array of MLflow observations"
		}
		writeError(w, http.StatusBadRequest, graph.EINVALID, msg, "")
		return
	}
	if len(raw) > s.opts.MaxBatch {
		writeError(w, http.StatusRequestEntityTooLarge, graph.ETOOLARGE,
			"at most "+strconv.Itoa(s.opts.MaxBatch)+" observations per request", "")
		return
	}
	resp := ObservationsResponse{Results: make([]ObservationResult, len(raw))}
	var obs []*mlflow.Observation
	var at []int
	for i, b := range raw {
		resp.Results[i].Index = i
		o, err := mlflow.DecodeObservation(b)
		if err != nil {
			resp.Results[i].setError(i, err)
			continue
		}
		obs = append(obs, o)
		at = append(at, i)
	}
	status := http.StatusOK
	if len(obs) > 0 {
		for j, res := range s.opts.MLflowObserver.Observe(r.Context(), "mlflow/sync", obs) {
			i := at[j]
			resp.Results[i].Key, resp.Results[i].Status = res.Key, res.Status
			resp.Results[i].Offset, resp.Results[i].Changes = res.Offset, res.Changes
			if res.Err != nil {
				resp.Results[i].setError(i, res.Err)
			}
		}
	}
	for _, res := range resp.Results {
		if res.Status == mlflow.StatusRejected {
			status = http.StatusMultiStatus
			if code := graph.ErrorCode(errorOf(res)); code == graph.EUNAVAILABLE {
				status = http.StatusServiceUnavailable
				break
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// setError records a rejection, naming the field as [i].field.
func (r *ObservationResult) setError(i int, err error) {
	r.Status = mlflow.StatusRejected
	r.Error = graph.ErrorCode(err)
	r.Message = "internal error"
	if r.Error != graph.EINTERNAL {
		r.Message = domainMessage(err)
	}
	if f := graph.ErrorField(err); f != "" {
		r.Field = prefixField(i, f)
	}
}

// errorOf rebuilds an error carrying the code of a result.
func errorOf(r ObservationResult) error {
	if r.Error == "" {
		return nil
	}
	return graph.Errorf(r.Error, "%s", r.Message)
}
