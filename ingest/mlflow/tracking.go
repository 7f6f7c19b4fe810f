package mlflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// Page sizes asked for when the caller leaves them to the client. MLflow
// 3.17 refuses max_results 0 on experiments/search and more than 1000 on
// registered-models/search.
const (
	defaultPageSize = 1000
	maxPages        = 100000 // guards the all-pages helpers against a server that never ends
)

// View types of experiments/search and runs/search.
const (
	ViewActiveOnly  = "ACTIVE_ONLY"
	ViewDeletedOnly = "DELETED_ONLY"
	ViewAll         = "ALL"
)

// SearchExperiments returns one page of active experiments and the token
// of the next page ("" after the last). maxResults ≤ 0 means 1000.
func (c *Client) SearchExperiments(ctx context.Context, pageToken string, maxResults int) ([]Experiment, string, error) {
	if maxResults <= 0 {
		maxResults = defaultPageSize
	}
	q := url.Values{"max_results": {strconv.Itoa(maxResults)}, "view_type": {ViewActiveOnly}}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var out struct {
		Experiments   []Experiment `json:"experiments"`
		NextPageToken string       `json:"next_page_token"`
	}
	if err := c.getJSON(ctx, "experiments/search", q, &out); err != nil {
		return nil, "", err
	}
	return out.Experiments, out.NextPageToken, nil
}

// AllExperiments returns every active experiment, following the pages.
func (c *Client) AllExperiments(ctx context.Context) ([]Experiment, error) {
	return allPages(func(token string) ([]Experiment, string, error) {
		return c.SearchExperiments(ctx, token, 0)
	})
}

// RunQuery selects runs for SearchRuns. ExperimentIDs is required.
type RunQuery struct {
	ExperimentIDs []string
	Filter        string   // MLflow search syntax, e.g. "tags.prov.git_sha = 'a1b2…'"
	OrderBy       []string // e.g. "attributes.start_time DESC"
	MaxResults    int      // ≤ 0 means 1000
	PageToken     string
	ViewType      string // ViewActiveOnly (when empty) or ViewAll
}

// SearchRuns returns one page of the runs q selects (POST runs/search) and
// the token of the next page ("" after the last).
func (c *Client) SearchRuns(ctx context.Context, q RunQuery) ([]Run, string, error) {
	if len(q.ExperimentIDs) == 0 {
		return nil, "", errors.New("mlflow: SearchRuns: RunQuery.ExperimentIDs is empty")
	}
	view := q.ViewType
	if view == "" {
		view = ViewActiveOnly
	}
	size := q.MaxResults
	if size <= 0 {
		size = defaultPageSize
	}
	in := struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter,omitempty"`
		ViewType      string   `json:"run_view_type"`
		MaxResults    int      `json:"max_results"`
		OrderBy       []string `json:"order_by,omitempty"`
		PageToken     string   `json:"page_token,omitempty"`
	}{q.ExperimentIDs, q.Filter, view, size, q.OrderBy, q.PageToken}
	var out struct {
		Runs          []Run  `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	if err := c.postJSON(ctx, "runs/search", in, &out); err != nil {
		return nil, "", err
	}
	return out.Runs, out.NextPageToken, nil
}

// AllRuns returns every run q selects, following the pages from the first
// (q.PageToken is ignored).
func (c *Client) AllRuns(ctx context.Context, q RunQuery) ([]Run, error) {
	return allPages(func(token string) ([]Run, string, error) {
		q.PageToken = token
		return c.SearchRuns(ctx, q)
	})
}

// GetRun returns one run with its data, inputs and outputs.
func (c *Client) GetRun(ctx context.Context, runID string) (Run, error) {
	var out struct {
		Run Run `json:"run"`
	}
	if err := c.getJSON(ctx, "runs/get", url.Values{"run_id": {runID}}, &out); err != nil {
		return Run{}, err
	}
	return out.Run, nil
}

// allPages calls page with "" and then with each next token until the
// token is empty. A token seen twice is an error, not an endless loop.
func allPages[T any](page func(token string) ([]T, string, error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	token := ""
	for range maxPages {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("mlflow: the server repeated page token %q", next)
		}
		seen[next] = true
		token = next
	}
	return nil, fmt.Errorf("mlflow: more than %d pages", maxPages)
}
