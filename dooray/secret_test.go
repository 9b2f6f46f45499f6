package dooray_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
)

func TestTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-dooray-token-value"
	s := dooraytest.NewServer(dooraytest.WithToken(token))
	defer s.Close()
	// The server echoes the token back in its error message: redaction must hold.
	s.Inject(dooraytest.Fault{Status: 400, Body: "bad header dooray-api " + token})
	var logs strings.Builder
	cfg := dooray.Config{BaseURL: s.URL, Token: token, HTTPClient: s.Client(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	c, err := dooray.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := c.CreatePost(context.Background(), dooray.ID(s.ProjectID()), dooray.NewPost{Subject: "x"})
	bad, _ := dooray.New(dooray.Config{BaseURL: s.URL, Token: token + "x", HTTPClient: s.Client()})
	_, err2 := bad.Me(context.Background())
	if err1 == nil || err2 == nil {
		t.Fatalf("want errors, got %v, %v", err1, err2)
	}
	wrapper := struct {
		Dooray dooray.Config
		N      int
	}{cfg, 1}
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "dooray", cfg)
	for name, s := range map[string]string{
		"error":        err1.Error(),
		"401 error":    err2.Error(),
		"%+v client":   fmt.Sprintf("%+v", c),
		"%#v client":   fmt.Sprintf("%#v", c),
		"%v *client":   fmt.Sprintf("%v", *c),
		"%+v config":   fmt.Sprintf("%+v", cfg),
		"%#v config":   fmt.Sprintf("%#v", cfg),
		"%+v nested":   fmt.Sprintf("%+v", wrapper),
		"%+v APIError": fmt.Sprintf("%+v", err1),
		"logs":         logs.String(),
	} {
		if strings.Contains(s, token) {
			t.Errorf("%s leaks the token: %s", name, s)
		}
	}
	if !strings.Contains(err1.Error(), "<redacted>") {
		t.Errorf("echoed token not redacted: %v", err1)
	}
}
