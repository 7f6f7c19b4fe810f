package mlflow

import (
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// decodeWebhookRecord maps a webhook delivery record.
func decodeWebhookRecord(body []byte) (ingest.Event, error) {
	return ingest.Event{}, graph.Errorf(graph.EINVALID, "webhook records: not yet mapped")
}
