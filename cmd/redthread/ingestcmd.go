package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// sourceEvent is one event read from a file, with where it came from.
type sourceEvent struct {
	where string // "file.ndjson:12" or "file.json[3]"
	body  json.RawMessage
}

// batchReply mirrors the server's batch response.
type batchReply struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Results  []struct {
		Index     int    `json:"index"`
		Status    int    `json:"status"`
		Duplicate bool   `json:"duplicate"`
		Error     string `json:"error"`
		Message   string `json:"message"`
		Field     string `json:"field"`
	} `json:"results"`
}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ingest", "redthread ingest [flags] FILE|DIR|-", stderr)
	url := fs.String("url", "http://127.0.0.1:5050", "base URL of a running Redthread")
	apiKey := fs.String("api-key", "", "bearer token, if the server requires one")
	batch := fs.Int("batch", 500, "events per batch request")
	workers := fs.Int("concurrency", 4, "batch requests in flight")
	useGzip := fs.Bool("gzip", true, "gzip request bodies")
	quiet := fs.Bool("quiet", false, "no progress bar")
	operands, err := parseFlagsAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		fmt.Fprintf(stderr, "redthread ingest: want one FILE, DIR or -, got %d operands %q\n", len(operands), operands)
		fs.Usage()
		return errUsage
	}
	if *batch < 1 || *workers < 1 {
		return errors.New("-batch and -concurrency must be at least 1")
	}
	files, total, err := inputFiles(operands[0])
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("ingesting"),
			progressbar.OptionShowBytes(true), progressbar.OptionShowCount(), progressbar.OptionThrottle(200e6),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
	}
	client := newAPIClient(*url, *apiKey)
	var (
		mu                   sync.Mutex
		sent, accepted, dups int
		rejects              []string
		firstErr             error
		jobs                 = make(chan []sourceEvent, *workers)
		wg                   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for evs := range jobs {
				rep, err := postBatch(ctx, client, evs, *useGzip)
				mu.Lock()
				sent += len(evs)
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				accepted += rep.Accepted
				for _, r := range rep.Results {
					if r.Duplicate {
						dups++
					}
					if r.Error != "" && r.Index < len(evs) {
						field := ""
						if f := eventField(r.Field, r.Index); f != "" {
							field = " (" + f + ")"
						}
						rejects = append(rejects, fmt.Sprintf("%s: %s%s: %s", evs[r.Index].where, r.Error, field, r.Message))
					}
				}
				mu.Unlock()
			}
		}()
	}
	readErr := readEvents(ctx, files, func(evs []sourceEvent) { jobs <- evs }, *batch, bar)
	close(jobs)
	wg.Wait()
	if bar != nil {
		_ = bar.Finish()
	}
	for _, r := range rejects {
		fmt.Fprintln(stderr, "rejected", r)
	}
	fmt.Fprintf(stdout, "sent %d events: %d accepted (%d already known), %d rejected\n", sent, accepted, dups, len(rejects))
	switch {
	case firstErr != nil:
		return firstErr
	case readErr != nil:
		return readErr
	case len(rejects) > 0:
		return fmt.Errorf("%d events rejected", len(rejects))
	}
	return nil
}

// inputFiles expands FILE|DIR|- into a list of paths ("-" is stdin) and
// their total size (-1 if unknown) for the progress bar. A directory is
// walked for *.json, *.ndjson and *.jsonl files, in name order.
func inputFiles(arg string) ([]string, int64, error) {
	if arg == "-" {
		return []string{"-"}, -1, nil
	}
	st, err := os.Stat(arg)
	if err != nil {
		return nil, 0, err
	}
	if !st.IsDir() {
		return []string{arg}, st.Size(), nil
	}
	var files []string
	var total int64
	err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".ndjson", ".jsonl":
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, p)
			total += info.Size()
		}
		return nil
	})
	sort.Strings(files)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s holds no .json, .ndjson or .jsonl files", arg)
	}
	return files, total, err
}

// readEvents streams every event of every file, in batches. A file may
// hold one event, a JSON array of events, or one event per line (NDJSON);
// any sequence of JSON values works.
func readEvents(ctx context.Context, files []string, emit func([]sourceEvent), batch int, bar *progressbar.ProgressBar) error {
	var buf []sourceEvent
	for _, name := range files {
		var r io.Reader
		if name == "-" {
			r, name = os.Stdin, "stdin"
		} else {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		if bar != nil {
			pr := progressbar.NewReader(r, bar)
			r = &pr
		}
		dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
		for n := 1; ; n++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: value %d (byte %d) is not JSON: %v", name, n, dec.InputOffset(), err)
			}
			raw = bytes.TrimSpace(raw)
			if len(raw) > 0 && raw[0] == '[' {
				var items []json.RawMessage
				if err := json.Unmarshal(raw, &items); err != nil {
					return fmt.Errorf("%s: value %d: %v", name, n, err)
				}
				for i, it := range items {
					buf = append(buf, sourceEvent{where: fmt.Sprintf("%s[%d]", name, i), body: it})
					if len(buf) == batch {
						emit(buf)
						buf = nil
					}
				}
				continue
			}
			buf = append(buf, sourceEvent{where: fmt.Sprintf("%s#%d", name, n), body: raw})
			if len(buf) == batch {
				emit(buf)
				buf = nil
			}
		}
	}
	if len(buf) > 0 {
		emit(buf)
	}
	return nil
}

// postBatch sends events to the batch endpoint.
func postBatch(ctx context.Context, c *apiClient, evs []sourceEvent, useGzip bool) (batchReply, error) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, e := range evs {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(e.body)
	}
	body.WriteByte(']')
	payload, hdr := body.Bytes(), map[string]string{}
	if useGzip {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(payload)
		_ = zw.Close()
		payload, hdr["Content-Encoding"] = z.Bytes(), "gzip"
	}
	status, b, err := c.do(ctx, http.MethodPost, "/api/v1/lineage/batch", payload, hdr)
	if err != nil {
		return batchReply{}, err
	}
	var rep batchReply
	if jerr := json.Unmarshal(b, &rep); jerr != nil || rep.Results == nil {
		var e struct{ Error, Message, Field string }
		_ = json.Unmarshal(b, &e)
		if e.Message != "" {
			return batchReply{}, fmt.Errorf("server answered %d %s: %s", status, e.Error, e.Message)
		}
		return batchReply{}, fmt.Errorf("server answered %d: %.200s", status, b)
	}
	return rep, nil
}

// eventField is field, the JSON path of a batch result ("[16].job.name"),
// relative to the event at index, which is what the person fixing the file
// needs ("job.name"): the position in a request depends on --batch.
func eventField(field string, index int) string {
	prefix := "[" + strconv.Itoa(index) + "]"
	if rest, ok := strings.CutPrefix(field, prefix); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
		return strings.TrimPrefix(rest, ".")
	}
	return field
}
