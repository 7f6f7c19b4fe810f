package mlflow

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// SearchRegisteredModels returns one page (up to 1000, MLflow's maximum) of
// registered models with their tags and aliases, and the next page token.
func (c *Client) SearchRegisteredModels(ctx context.Context, pageToken string) ([]RegisteredModel, string, error) {
	q := url.Values{"max_results": {strconv.Itoa(defaultPageSize)}}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var out struct {
		Models        []RegisteredModel `json:"registered_models"`
		NextPageToken string            `json:"next_page_token"`
	}
	if err := c.getJSON(ctx, "registered-models/search", q, &out); err != nil {
		return nil, "", err
	}
	return out.Models, out.NextPageToken, nil
}

// AllRegisteredModels returns every registered model, following the pages.
func (c *Client) AllRegisteredModels(ctx context.Context) ([]RegisteredModel, error) {
	return allPages(func(token string) ([]RegisteredModel, string, error) {
		return c.SearchRegisteredModels(ctx, token)
	})
}

// SearchModelVersions returns one page of the model versions filter
// selects ("" for all; e.g. "name='risk-default'" or "run_id='…'") and the
// next page token.
//
// MLflow 3.17 leaves Aliases empty in search answers, even for versions
// that have aliases, and never returns ModelID over REST: take aliases
// from GetModelVersion or from RegisteredModel.Aliases.
func (c *Client) SearchModelVersions(ctx context.Context, filter, pageToken string) ([]ModelVersion, string, error) {
	q := url.Values{"max_results": {strconv.Itoa(defaultPageSize)}}
	if filter != "" {
		q.Set("filter", filter)
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var out struct {
		Versions      []ModelVersion `json:"model_versions"`
		NextPageToken string         `json:"next_page_token"`
	}
	if err := c.getJSON(ctx, "model-versions/search", q, &out); err != nil {
		return nil, "", err
	}
	return out.Versions, out.NextPageToken, nil
}

// AllModelVersions returns every model version filter selects, following
// the pages. Aliases are empty (see SearchModelVersions).
func (c *Client) AllModelVersions(ctx context.Context, filter string) ([]ModelVersion, error) {
	return allPages(func(token string) ([]ModelVersion, string, error) {
		return c.SearchModelVersions(ctx, filter, token)
	})
}

// GetModelVersion returns one version of a registered model, aliases
// included.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (ModelVersion, error) {
	var out struct {
		Version ModelVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "version": {version}}
	if err := c.getJSON(ctx, "model-versions/get", q, &out); err != nil {
		return ModelVersion{}, err
	}
	return out.Version, nil
}

// GetModelVersionByAlias returns the version an alias of a registered
// model points at. An unknown alias is a not-found error (IsNotFound), although
// MLflow answers it with 400 INVALID_PARAMETER_VALUE.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (ModelVersion, error) {
	var out struct {
		Version ModelVersion `json:"model_version"`
	}
	q := url.Values{"name": {name}, "alias": {alias}}
	if err := c.getJSON(ctx, "registered-models/alias", q, &out); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "INVALID_PARAMETER_VALUE" && strings.Contains(ae.Message, "not found") {
			ae.missing = true
		}
		return ModelVersion{}, err
	}
	return out.Version, nil
}

// GetLoggedModel returns an MLflow 3 logged model (GET
// logged-models/{model_id}).
func (c *Client) GetLoggedModel(ctx context.Context, modelID string) (LoggedModel, error) {
	if modelID == "" {
		return LoggedModel{}, errors.New("mlflow: GetLoggedModel: empty model id")
	}
	var out struct {
		Model LoggedModel `json:"model"`
	}
	if err := c.getJSON(ctx, "logged-models/"+url.PathEscape(modelID), nil, &out); err != nil {
		return LoggedModel{}, err
	}
	return out.Model, nil
}
