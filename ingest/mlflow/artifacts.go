package mlflow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Bounds of WalkArtifacts: a run's artifact tree larger or deeper than this
// is refused rather than walked without end.
const (
	MaxArtifactEntries = 10000
	MaxArtifactDepth   = 32
)

// ListArtifacts returns one page of the entries directly under path ("" is
// the run's artifact root) and the next page token. Paths are relative to
// the root ("model/MLmodel"). MLflow answers an empty list, not an error,
// for a path that does not exist; the local and proxied artifact stores of
// MLflow 3.17 return a single page.
func (c *Client) ListArtifacts(ctx context.Context, runID, path, pageToken string) ([]FileInfo, string, error) {
	q := url.Values{"run_id": {runID}}
	if path != "" {
		q.Set("path", path)
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var out struct {
		Files         []FileInfo `json:"files"`
		NextPageToken string     `json:"next_page_token"`
	}
	if err := c.getJSON(ctx, "artifacts/list", q, &out); err != nil {
		return nil, "", err
	}
	return out.Files, out.NextPageToken, nil
}

// WalkArtifacts returns a run's whole artifact tree, files and directories,
// sorted by path. A tree of more than MaxArtifactEntries entries, or with a
// directory of more than MaxArtifactDepth path segments, is an error naming
// the limit.
func (c *Client) WalkArtifacts(ctx context.Context, runID string) ([]FileInfo, error) {
	var all []FileInfo
	seen := map[string]bool{}
	type dir struct {
		path  string
		depth int
	}
	stack := []dir{{"", 0}}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		entries, err := allPages(func(token string) ([]FileInfo, string, error) {
			return c.ListArtifacts(ctx, runID, d.path, token)
		})
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			e.Path = strings.Trim(e.Path, "/")
			// A server that lists a directory inside itself, or an entry
			// twice, must not make the walk loop.
			if e.Path == "" || e.Path == d.path || seen[e.Path] {
				continue
			}
			seen[e.Path] = true
			if len(all) == MaxArtifactEntries {
				return nil, fmt.Errorf("mlflow: run %s has more than %d artifacts (MaxArtifactEntries)", runID, MaxArtifactEntries)
			}
			all = append(all, e)
			if e.IsDir {
				if d.depth+1 > MaxArtifactDepth {
					return nil, fmt.Errorf("mlflow: run %s: artifact directory %q is nested deeper than %d levels (MaxArtifactDepth)", runID, e.Path, MaxArtifactDepth)
				}
				stack = append(stack, dir{e.Path, d.depth + 1})
			}
		}
	}
	slices.SortFunc(all, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return all, nil
}

// DownloadArtifact returns the bytes of one artifact file (GET
// /get-artifact, which MLflow 3.17 serves for local, proxied
// mlflow-artifacts:/ and remote artifact roots alike). A file larger than
// maxBytes is an error (*TooLargeError); maxBytes ≤ 0 means the client's
// MaxResponseBytes. A directory is an APIError (400 INVALID_PARAMETER_VALUE),
// a missing file a not-found APIError.
func (c *Client) DownloadArtifact(ctx context.Context, runID, path string, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = c.maxBytes
	}
	// run_uuid is the name every MLflow release accepts; 3.x also reads
	// run_id.
	q := url.Values{"path": {path}, "run_uuid": {runID}}
	return c.do(ctx, http.MethodGet, "/get-artifact", q, nil, maxBytes)
}
