package codathook

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed migration.html
var migrationHTML string

var migrationPage = template.Must(template.New("migration").Funcs(template.FuncMap{
	"n": func(m map[Result]uint64, r string) uint64 { return m[Result(r)] },
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(migrationHTML))

// MigrationHandler returns an http.Handler that serves the
// [Receiver.Migration] report: a server-rendered HTML page (no JavaScript)
// with the verdict, the runbook steps, the endpoints' flag decisions and
// the per-type table, or the report as JSON when the request asks for
// application/json (Accept header, or ?format=json). It answers GET and
// HEAD only. It has no authentication of its own: mount it behind yours.
func (r *Receiver) MigrationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		m := r.Migration(req.Context())
		var buf bytes.Buffer
		w.Header().Set("Cache-Control", "no-store")
		if req.URL.Query().Get("format") == "json" || strings.Contains(req.Header.Get("Accept"), "application/json") {
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			if err := enc.Encode(m); err != nil {
				http.Error(w, "encoding the report failed", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
		} else {
			if err := migrationPage.Execute(&buf, m); err != nil {
				r.cfg.logger.Error("codathook: rendering the migration page failed", "error", err)
				http.Error(w, "rendering the report failed", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		if req.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(buf.Bytes())
	})
}
