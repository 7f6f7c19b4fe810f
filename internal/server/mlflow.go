package server

import "net/http"

// mountMLflow serves the MLflow webhook receiver, when configured, without
// the bearer-token auth of the other ingest routes: MLflow cannot send a
// token, and the receiver authenticates every delivery by its HMAC
// signature and timestamp instead. The receiver enforces its own body
// limit and answers its own JSON errors.
func (s *Server) mountMLflow() {
	if s.opts.MLflowObserver != nil {
		s.handle("POST /api/v1/mlflow/observations", "mlflow_observations", s.auth(http.HandlerFunc(s.postObservations)))
	}
	if s.opts.MLflowWebhook == nil {
		return
	}
	s.handle("POST /api/v1/mlflow/webhook", "mlflow_webhook", s.opts.MLflowWebhook)
}
