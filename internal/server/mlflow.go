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
	if s.opts.MLflowObserver == nil {
		s.disabled["/api/v1/mlflow/observations"] = "the MLflow observations endpoint is off; start serve with --mlflow-uri"
	}
	if s.opts.MLflowWebhook == nil {
		s.disabled["/api/v1/mlflow/webhook"] = "the MLflow webhook receiver is off; start serve with --mlflow-uri and --mlflow-webhook-secret"
		return
	}
	s.handle("POST /api/v1/mlflow/webhook", "mlflow_webhook", s.opts.MLflowWebhook)
}
