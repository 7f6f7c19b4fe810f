package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string, header http.Header) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// absoluteURL finds http(s) URLs and protocol-relative ones in attributes.
var absoluteURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`)

// The built playground answers / with HTML that loads nothing from another
// origin, and its files are what the HTML names.
func TestPlaygroundBuilt(t *testing.T) {
	if !Built() {
		if os.Getenv("CI") == "true" {
			t.Fatal("the playground bundle is not built: CI must run make web (scripts/build-web.sh) first")
		}
		t.Skip("the playground bundle is not built (run make web); TestPlaygroundNotBuilt covers this binary")
	}
	h := Handler()
	res := get(t, h, "/", nil)
	html := body(t, res)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(html, `<div id="root">`) {
		t.Fatalf("GET / is not the playground:\n%s", html)
	}
	if m := absoluteURL.FindAllString(html, -1); len(m) > 0 {
		t.Fatalf("index.html references absolute URLs %v; the playground must work offline", m)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("CSP %q does not confine the page to its origin", csp)
	}

	// Every script and stylesheet the page names is served, and the
	// stylesheets import nothing from elsewhere.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1)
	for _, ref := range refs {
		name := ref[1]
		if strings.HasPrefix(name, "data:") {
			continue
		}
		res := get(t, h, "/"+name, nil)
		content := body(t, res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /%s = %d", name, res.StatusCode)
		}
		if strings.HasSuffix(name, ".css") && regexp.MustCompile(`(?i)(@import|url\(\s*["']?(https?:)?//)`).MatchString(content) {
			t.Fatalf("%s loads something from another origin", name)
		}
		if strings.HasSuffix(name, ".js") && regexp.MustCompile(`(?:import|from)\s*\(?\s*["'](https?:)?//`).MatchString(content) {
			t.Fatalf("%s imports a module from another origin", name)
		}
	}
	if len(refs) < 2 {
		t.Fatalf("index.html names %d files, want the script and the stylesheet", len(refs))
	}
	// The workers Monaco starts are there too.
	for _, w := range []string{"editor.worker.js", "json.worker.js", "graphql.worker.js"} {
		if res := get(t, h, "/"+w, nil); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("GET /%s = %d %s", w, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

func TestPlaygroundServing(t *testing.T) {
	files := fstest.MapFS{
		"index.html":    {Data: []byte(`<!doctype html><div id="root"></div><script type="module" src="playground.js"></script>`)},
		"playground.js": {Data: []byte(`console.log("hi")`)},
		"README":        {Data: []byte("not served")},
		".hidden":       {Data: []byte("not served")},
	}
	h := newHandler(files)

	res := get(t, h, "/", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET / = %d, headers %v", res.StatusCode, res.Header)
	}
	if res := get(t, h, "/", http.Header{"If-None-Match": {res.Header.Get("ETag")}}); res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation = %d, want 304", res.StatusCode)
	}
	for _, p := range []string{"/README", "/.hidden", "/nope.js", "/graphql"} {
		if res := get(t, h, p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", w.Code)
	}
}

// Without a bundle, every page says how to build it.
func TestPlaygroundNotBuilt(t *testing.T) {
	h := newHandler(fstest.MapFS{"README": {Data: []byte("x")}})
	res := get(t, h, "/", nil)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(t, res), "make web") {
		t.Fatalf("GET / = %d, want 503 naming make web", res.StatusCode)
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("content type %s", res.Header.Get("Content-Type"))
	}
}

// dist/README is committed, so the embed pattern always matches.
func TestReadmeEmbedded(t *testing.T) {
	if _, err := fs.Stat(dist, "dist/README"); err != nil {
		t.Fatal(err)
	}
}
