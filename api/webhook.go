package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/contiple/contiple-worker/dooray"
)

// WebhookPath is the route of the Dooray! webhook receiver.
const WebhookPath = "POST /webhooks/dooray/{token}"

// DoorayLinks tells whether a task belongs to one of our tickets (*ticket.Store).
type DoorayLinks interface {
	DoorayPostLinked(ctx context.Context, postID string) (bool, error)
}

// DooraySyncs queues a deduplicated sync of one task (jobs.DoorayHints).
type DooraySyncs interface {
	EnqueuePostSync(ctx context.Context, projectID, postID string) error
}

// Webhook receives Dooray! project hooks. Dooray! signs nothing, so the URL
// carries an unguessable token, and a payload is only a hint: it names a task,
// whose sync re-reads it through the API. The receiver answers at once; the
// work is a queued dooray:sync, coalesced per task.
type Webhook struct {
	// Token is the secret path segment; empty refuses every request.
	Token string
	Links DoorayLinks
	Syncs DooraySyncs
	// BotMemberID, when set, drops the echoes of our own API calls.
	BotMemberID string
	Log         *slog.Logger
	// MaxBody bounds a payload (default 1 MiB).
	MaxBody int64
}

// Mount registers the receiver on mux at WebhookPath.
func (h *Webhook) Mount(mux *http.ServeMux) { mux.Handle(WebhookPath, h) }

type webhookReply struct {
	Status string `json:"status"` // queued | ignored
	Reason string `json:"reason,omitempty"`
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token := r.PathValue("token")
	if token == "" {
		token = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	if !h.validToken(token) {
		log.WarnContext(r.Context(), "dooray webhook: bad token", "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		http.Error(w, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	hook, err := dooray.DecodeHook(body)
	if err != nil {
		log.WarnContext(r.Context(), "dooray webhook: malformed payload", "err", err, "size", len(body))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	postID, projectID := string(hook.Post.ID), string(hook.Project.ID)
	log = log.With("event", hook.EventType, "dooray_post_id", postID, "project_id", projectID, "version", hook.Version)
	switch {
	case postID == "":
		writeWebhookReply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "no task in the event"})
		return
	case h.BotMemberID != "" && hook.FromAPI() && string(hook.Source.MemberID()) == h.BotMemberID &&
		hook.EventType != dooray.EventPostMoved:
		writeWebhookReply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "our own change"})
		return
	}
	linked, err := h.Links.DoorayPostLinked(r.Context(), postID)
	if err != nil {
		log.ErrorContext(r.Context(), "dooray webhook: link lookup", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	if !linked {
		log.DebugContext(r.Context(), "dooray webhook: task not ours")
		writeWebhookReply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "task not linked to a ticket"})
		return
	}
	if err := h.Syncs.EnqueuePostSync(r.Context(), projectID, postID); err != nil {
		log.ErrorContext(r.Context(), "dooray webhook: queue sync", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	log.InfoContext(r.Context(), "dooray webhook: sync queued")
	writeWebhookReply(w, http.StatusAccepted, webhookReply{Status: "queued"})
}

// validToken compares in constant time; hashing first hides the length too.
func (h *Webhook) validToken(got string) bool {
	if h.Token == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(h.Token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func writeWebhookReply(w http.ResponseWriter, status int, v webhookReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
