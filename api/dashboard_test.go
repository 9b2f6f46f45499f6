package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDashboardRefusesStateChangesFromAnotherOrigin covers every
// state-changing method and both headers a browser may send; the Chromium
// test (cmd/contiple-worker) shows it with a real forged form.
func TestDashboardRefusesStateChangesFromAnotherOrigin(t *testing.T) {
	reached := 0
	h := Dashboard("admin", "pw", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
	for _, tc := range []struct {
		name, method string
		headers      map[string]string
		want         int
	}{
		{"POST from another site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"DELETE from the same site, other port", "DELETE", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"PUT with a foreign Origin", "PUT", map[string]string{"Origin": "http://127.0.0.1:9"}, 403},
		{"PATCH with a foreign Origin", "PATCH", map[string]string{"Origin": "http://evil.example"}, 403},
		{"POST from the dashboard itself", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"DELETE with its own Origin", "DELETE", map[string]string{"Origin": "http://dash.example:8080"}, 200},
		{"POST from no browser", "POST", nil, 200},
		{"GET from another site", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := reached
			req := httptest.NewRequest(tc.method, "http://dash.example:8080/monitoring/api/queues/mail_out/pending_tasks:archive_all", nil)
			req.SetBasicAuth("admin", "pw")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want || (reached > before) != (tc.want == 200) {
				t.Errorf("%s: %d (reached the dashboard: %v), want %d", tc.name, rec.Code, reached > before, tc.want)
			}
		})
	}
	req := httptest.NewRequest("POST", "http://dash.example:8080/monitoring/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("without credentials: %d", rec.Code)
	}
}
