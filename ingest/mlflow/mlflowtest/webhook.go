package mlflowtest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// CreateWebhook registers a webhook on the MLflow server (MLflow ≥ 3.3,
// POST /api/2.0/mlflow/webhooks) and returns its id. Each event is
// "<entity>.<action>" as MLflow's Python client spells them, e.g.
// "model_version.created", "model_version_tag.set",
// "model_version_alias.created", "registered_model.created"; they are sent
// as the protobuf enum names (MODEL_VERSION, CREATED), the only spelling
// the REST API takes. secret may be empty (then deliveries are not
// signed).
func CreateWebhook(ctx context.Context, trackingURI, name, target, secret string, events []string) (string, error) {
	type event struct {
		Entity string `json:"entity"`
		Action string `json:"action"`
	}
	var evs []event
	for _, e := range events {
		entity, action, ok := strings.Cut(e, ".")
		if !ok || entity == "" || action == "" {
			return "", fmt.Errorf("mlflowtest: webhook event %q is not <entity>.<action>", e)
		}
		evs = append(evs, event{strings.ToUpper(entity), strings.ToUpper(action)})
	}
	body := map[string]any{"name": name, "url": target, "events": evs}
	if secret != "" {
		body["secret"] = secret
	}
	var out struct {
		Webhook struct {
			ID string `json:"webhook_id"`
		} `json:"webhook"`
	}
	if err := newREST(trackingURI).call(ctx, "POST", "webhooks", body, &out); err != nil {
		return "", err
	}
	if out.Webhook.ID == "" {
		return "", fmt.Errorf("mlflowtest: MLflow created webhook %q without an id", name)
	}
	return out.Webhook.ID, nil
}

// DeleteWebhook removes a webhook (DELETE /api/2.0/mlflow/webhooks/{id}).
func DeleteWebhook(ctx context.Context, trackingURI, id string) error {
	return newREST(trackingURI).call(ctx, "DELETE", "webhooks/"+url.PathEscape(id), nil, nil)
}
