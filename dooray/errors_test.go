package dooray_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	env := func(code int) string {
		return `{"header":{"isSuccessful":false,"resultCode":` + strconv.Itoa(code) + `,"resultMessage":"nope"},"result":null}`
	}
	rl := func(remaining, requested, rate string) map[string]string {
		return map[string]string{"X-RateLimit-Remaining": remaining, "X-RateLimit-Requested-Tokens": requested,
			"X-RateLimit-Burst-Capacity": "10", "X-RateLimit-Replenish-Rate": rate}
	}
	tests := []struct {
		name   string
		status int
		body   string
		header map[string]string
		want   dooray.APIError
	}{
		{"isSuccessful false on 200", 200, env(-7), nil,
			dooray.APIError{HTTPStatus: 200, ResultCode: -7, Message: "nope"}},
		{"400", 400, env(-1), nil, dooray.APIError{HTTPStatus: 400, ResultCode: -1, Message: "nope"}},
		{"401", 401, env(-1), nil, dooray.APIError{HTTPStatus: 401, ResultCode: -1, Message: "nope"}},
		{"403", 403, env(-1), nil, dooray.APIError{HTTPStatus: 403, ResultCode: -1, Message: "nope"}},
		{"404", 404, env(-1), nil, dooray.APIError{HTTPStatus: 404, ResultCode: -1, Message: "nope"}},
		{"404 not JSON", 404, "Not Found", nil, dooray.APIError{HTTPStatus: 404, ResultCode: -404, Message: "Not Found"}},
		{"409", 409, env(-1), nil, dooray.APIError{HTTPStatus: 409, ResultCode: -1, Message: "nope"}},
		{"415", 415, env(-1), nil, dooray.APIError{HTTPStatus: 415, ResultCode: -1, Message: "nope"}},
		{"429 waits for the missing tokens", 429, env(-1), rl("0", "1", "2"),
			dooray.APIError{HTTPStatus: 429, ResultCode: -1, Message: "nope", Retryable: true, RetryAfter: time.Second}},
		{"429 slow replenish", 429, env(-1), rl("0", "3", "1"),
			dooray.APIError{HTTPStatus: 429, ResultCode: -1, Message: "nope", Retryable: true, RetryAfter: 3 * time.Second}},
		{"429 without headers", 429, "", nil,
			dooray.APIError{HTTPStatus: 429, ResultCode: -429, Message: "response is not a Dooray! envelope", Retryable: true, RetryAfter: time.Second}},
		{"500", 500, env(-1), nil,
			dooray.APIError{HTTPStatus: 500, ResultCode: -1, Message: "nope", Retryable: true, Ambiguous: true}},
		{"502 HTML", 502, "<html>Bad Gateway</html>", nil,
			dooray.APIError{HTTPStatus: 502, ResultCode: -502, Message: "<html>Bad Gateway</html>", Retryable: true, Ambiguous: true}},
		{"200 plain SERVER_GENERAL_ERROR", 200, "SERVER_GENERAL_ERROR", nil,
			dooray.APIError{HTTPStatus: 200, ResultCode: -200, Message: "SERVER_GENERAL_ERROR", Retryable: true, Ambiguous: true}},
		{"302 on a create is not followed", 302, "", map[string]string{"Location": "/elsewhere"},
			dooray.APIError{HTTPStatus: 302, ResultCode: -302, Message: "response is not a Dooray! envelope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := canned(t, tt.status, tt.body, tt.header)
			_, err := c.CreatePost(context.Background(), "1", dooray.NewPost{Subject: "s"})
			var got *dooray.APIError
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			tt.want.Method, tt.want.Path = "POST", "/project/v1/projects/1/posts"
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(dooray.APIError{}, "Err")); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if dooray.IsRetryable(err) != tt.want.Retryable || dooray.IsAmbiguous(err) != tt.want.Ambiguous ||
				dooray.IsNotFound(err) != (tt.status == 404) || dooray.IsUnauthorized(err) != (tt.status == 401) ||
				dooray.RetryAfter(err) != tt.want.RetryAfter {
				t.Errorf("helpers disagree with %+v", got)
			}
		})
	}
}

func TestNetworkErrorsSayWhetherTheRequestWasSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("connection refused: retryable, not sent", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, _ := dooray.New(dooray.Config{BaseURL: "http://" + addr, Token: "t", MaxRetries: -1})
		_, err = c.CreatePost(ctx, "1", dooray.NewPost{Subject: "s"})
		if !dooray.IsRetryable(err) || dooray.IsAmbiguous(err) {
			t.Errorf("err = %v; want retryable, not ambiguous", err)
		}
	})

	t.Run("timeout after sending: ambiguous", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		c, _ := dooray.New(dooray.Config{BaseURL: srv.URL, Token: "t",
			HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}, MaxRetries: -1})
		_, err := c.CreatePost(ctx, "1", dooray.NewPost{Subject: "s"})
		if !dooray.IsRetryable(err) || !dooray.IsAmbiguous(err) {
			t.Errorf("err = %v; want retryable and ambiguous", err)
		}
	})

	t.Run("caller deadline keeps context.DeadlineExceeded in the chain", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		c, _ := dooray.New(dooray.Config{BaseURL: srv.URL, Token: "t"})
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.Me(cctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v; want DeadlineExceeded in chain", err)
		}
	})
}
