package dooray

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// File is an attachment of a post or log.
type File struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// MaxUploadSize bounds UploadFile: the body is held in memory because the 307 to
// the file host needs it sent a second time.
const MaxUploadSize = 50 << 20

// UploadFile attaches a file to a post and returns its id, for NewLog.AttachFileIDs.
// Dooray! answers 307 to its file host, where the same multipart body goes again
// with the Authorization header. An ambiguous failure may leave an unreferenced
// file behind, which is harmless.
func (c *Client) UploadFile(ctx context.Context, projectID, postID ID, name, contentType string, r io.Reader) (ID, error) {
	path := apiPath("/project/v1/projects/%s/posts/%s/files", projectID, postID)
	if projectID == "" || postID == "" || name == "" {
		return "", invalid(http.MethodPost, path, "empty project id, post id or file name")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, escapeQuotes(name)))
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return "", &APIError{Method: http.MethodPost, Path: path, Message: "building upload", Err: err}
	}
	n, err := io.Copy(part, io.LimitReader(r, MaxUploadSize+1))
	if err != nil {
		return "", &APIError{Method: http.MethodPost, Path: path, Message: "reading file", Err: err}
	}
	if n > MaxUploadSize {
		return "", invalid(http.MethodPost, path, fmt.Sprintf("file larger than %d bytes", MaxUploadSize))
	}
	if err := mw.Close(); err != nil {
		return "", &APIError{Method: http.MethodPost, Path: path, Message: "building upload", Err: err}
	}
	return c.create(ctx, call{method: http.MethodPost, path: path, body: buf.Bytes(), contentType: mw.FormDataContentType()})
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }
