// Package web serves the offline GraphQL playground: GraphiQL with its
// editor, workers and fonts bundled by esbuild (see build.mjs) and embedded
// in the binary, so that it works on an air-gapped network. The page loads
// nothing from any other origin, and its Content-Security-Policy forbids it
// to; it talks to the "graphql" endpoint next to it (POST for queries, a
// websocket for subscriptions).
//
// The bundle is built by `make web` (scripts/build-web.sh) into dist/, which
// git ignores except for dist/README. A binary built without the bundle
// serves a page that says so instead of the playground.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// contentSecurityPolicy confines the page to its own origin: scripts,
// styles, fonts and workers come from here, requests go only here (ws and
// wss included: browsers count them as 'self' for the same host). Inline
// styles and data: images and fonts are what GraphiQL and Monaco use.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; worker-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file, with the ETag of its content.
type asset struct {
	body []byte
	etag string
}

// playground serves the embedded bundle.
type playground struct {
	assets map[string]asset // by URL path without the leading slash
}

// Handler returns the playground handler, to be mounted at "/". It serves
// index.html at "/" and the bundle's files by name; anything else is 404.
// Without a built bundle it answers every request with a 503 page that
// says how to build it.
func Handler() http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path; fs.Sub cannot fail on it
	}
	return newHandler(files)
}

// Built reports whether the embedded bundle was built.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

func newHandler(files fs.FS) http.Handler {
	if _, err := fs.Stat(files, "index.html"); err != nil {
		return http.HandlerFunc(notBuilt)
	}
	p := &playground{assets: map[string]asset{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "README" || strings.HasPrefix(path.Base(name), ".") {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		p.assets[name] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // an embedded file system does not fail to read
	}
	return p
}

func (p *playground) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = "index.html"
	}
	a, ok := p.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	// File names are stable across builds, so browsers must revalidate;
	// the ETag makes that a 304.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if name == "index.html" {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

const notBuiltPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Redthread · playground not built</title></head>
<body>
<h1>Playground not built</h1>
<p>This binary was built without the GraphQL playground bundle.
Run <code>make web</code> (or <code>scripts/build-web.sh</code>), then rebuild the binary.</p>
<p>The GraphQL API itself is available at <code>graphql</code> (POST, GET and websocket).</p>
</body>
</html>
`

func notBuilt(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(notBuiltPage))
}
