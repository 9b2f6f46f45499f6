package dooraytest_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/google/go-cmp/cmp"
)

// These tests speak raw HTTP to check the fake against dooray-api.md itself,
// independently of the client.

type envelope struct {
	Header struct {
		IsSuccessful bool `json:"isSuccessful"`
		ResultCode   int  `json:"resultCode"`
	} `json:"header"`
	Result     json.RawMessage `json:"result"`
	TotalCount any             `json:"totalCount"`
}

func call(t *testing.T, s *dooraytest.Server, method, url, auth, ctype string, body []byte) (*http.Response, envelope) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env envelope
	if resp.StatusCode != http.StatusTemporaryRedirect {
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatalf("%s %s: body is not an envelope: %v", method, url, err)
		}
	}
	return resp, env
}

func TestFakeFollowsTheDocument(t *testing.T) {
	t.Parallel()
	s := dooraytest.NewServer()
	defer s.Close()
	auth := "dooray-api " + s.Token()
	posts := s.URL + "/project/v1/projects/" + s.ProjectID() + "/posts"

	tests := []struct {
		name, method, url, auth, ctype, body string
		status                               int
		success                              bool
	}{
		{"no token", "GET", s.URL + "/common/v1/members/me", "", "", "", 401, false},
		{"bearer instead of dooray-api", "GET", s.URL + "/common/v1/members/me", "Bearer " + s.Token(), "", "", 401, false},
		{"me", "GET", s.URL + "/common/v1/members/me", auth, "", "", 200, true},
		{"create without JSON type", "POST", posts, auth, "text/plain", `{"subject":"x"}`, 415, false},
		{"create without subject", "POST", posts, auth, "application/json", `{}`, 400, false},
		{"create", "POST", posts, auth, "application/json; charset=utf-8", `{"subject":"x","users":{"to":[],"cc":[]}}`, 200, true},
		{"size over 100", "GET", posts + "?size=101", auth, "", "", 400, false},
		{"unencoded + in a date range", "GET", posts + "?updatedAt=2026-01-01T00:00:00+09:00~2026-01-02T00:00:00+09:00", auth, "", "", 400, false},
		{"unknown post", "GET", posts + "/4199999999999999999", auth, "", "", 404, false},
		{"unknown route", "GET", s.URL + "/project/v1/nothing", auth, "", "", 404, false},
	}
	for _, tt := range tests {
		resp, env := call(t, s, tt.method, tt.url, tt.auth, tt.ctype, []byte(tt.body))
		if resp.StatusCode != tt.status || env.Header.IsSuccessful != tt.success {
			t.Errorf("%s: HTTP %d success %v, want %d %v", tt.name, resp.StatusCode, env.Header.IsSuccessful, tt.status, tt.success)
		}
		if !tt.success && env.Header.ResultCode == 0 {
			t.Errorf("%s: error envelope with resultCode 0", tt.name)
		}
	}

	_, env := call(t, s, "GET", posts, auth, "", nil)
	var items []map[string]any
	if err := json.Unmarshal(env.Result, &items); err != nil || len(items) != 1 {
		t.Fatalf("list: %v, %d items", err, len(items))
	}
	if id, _ := items[0]["id"].(string); len(id) != 19 {
		t.Errorf("post id %v is not a 19-digit string", items[0]["id"])
	}
	if _, hasBody := items[0]["body"]; hasBody {
		t.Error("list items carry a body")
	}
	if env.TotalCount != float64(1) {
		t.Errorf("totalCount = %#v", env.TotalCount)
	}
	got := s.Requests()
	if got[dooraytest.RouteCreatePost] != 3 || got[dooraytest.RouteListPosts] != 3 {
		t.Errorf("requests = %v", got)
	}
}

func TestFakeRateLimitHeaders(t *testing.T) {
	t.Parallel()
	s := dooraytest.NewServer(dooraytest.WithRateLimit(2, 1))
	defer s.Close()
	auth := "dooray-api " + s.Token()
	var statuses []int
	var last *http.Response
	for range 3 {
		resp, _ := call(t, s, "GET", s.URL+"/common/v1/members/me", auth, "", nil)
		statuses = append(statuses, resp.StatusCode)
		last = resp
	}
	// Three calls within one second on a bucket of two; should the second tick
	// over between calls, the third may pass, so accept either.
	if statuses[0] != 200 || statuses[1] != 200 {
		t.Fatalf("statuses = %v", statuses)
	}
	if statuses[2] == 429 {
		h := last.Header
		got := []string{h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Requested-Tokens"),
			h.Get("X-RateLimit-Burst-Capacity"), h.Get("X-RateLimit-Replenish-Rate"), h.Get("Retry-After")}
		if diff := cmp.Diff([]string{"0", "1", "2", "1", ""}, got); diff != "" {
			t.Errorf("429 headers (-want +got):\n%s", diff)
		}
		if s.Throttled() != 1 {
			t.Errorf("Throttled = %d", s.Throttled())
		}
	}
}

func TestFakeUploadNeedsAuthorizationTwice(t *testing.T) {
	t.Parallel()
	s := dooraytest.NewServer()
	defer s.Close()
	auth := "dooray-api " + s.Token()
	post, _ := s.AddPost(s.ProjectID(), dooraytest.Seed{Subject: "f"})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = mw.Close()
	url := s.URL + "/project/v1/projects/" + s.ProjectID() + "/posts/" + post + "/files"
	resp, _ := call(t, s, "POST", url, auth, mw.FormDataContentType(), buf.Bytes())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, s.FileHostURL()) {
		t.Fatalf("step 1: HTTP %d Location %q", resp.StatusCode, loc)
	}
	if resp, _ := call(t, s, "POST", loc, "", mw.FormDataContentType(), buf.Bytes()); resp.StatusCode != 401 {
		t.Errorf("file host without Authorization: HTTP %d, want 401", resp.StatusCode)
	}
	resp, env := call(t, s, "POST", loc, auth, mw.FormDataContentType(), buf.Bytes())
	if resp.StatusCode != 200 || !env.Header.IsSuccessful {
		t.Fatalf("step 2: HTTP %d", resp.StatusCode)
	}
	if info, _ := s.Post(post); len(info.Files) != 1 {
		t.Errorf("post files = %v", info.Files)
	}
}
