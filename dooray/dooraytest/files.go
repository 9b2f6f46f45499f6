package dooraytest

import (
	"io"
	"net/http"
)

// handleUpload is step 1 of an upload: Dooray! does not take the file itself
// but answers 307 to its file host, where the client must send the body again,
// Authorization included.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if !requireContentType(w, r, "multipart/form-data") {
		return
	}
	p := s.lockPost(w, r)
	if p == nil {
		return
	}
	id := s.newID()
	s.uploads[id] = upload{projectID: p.projectID, postID: p.id}
	s.mu.Unlock()
	w.Header().Set("Location", s.files.URL+"/uploads/"+id)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// serveFiles is the file host: it counts requests and checks the token itself.
func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request) {
	s.countRequest(s.fileMux, r)
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, -10100, "unauthorized: missing or invalid dooray-api token")
		return
	}
	s.fileMux.ServeHTTP(w, r)
}

func (s *Server) handleUploadTarget(w http.ResponseWriter, r *http.Request) {
	if !requireContentType(w, r, "multipart/form-data") {
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeError(w, http.StatusBadRequest, -10400, "invalid multipart body")
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, -10400, `form field "file" is required`)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		writeError(w, http.StatusBadRequest, -10400, "reading file")
		return
	}
	s.mu.Lock()
	up, ok := s.uploads[r.PathValue("uploadID")]
	p := s.postIn(up.projectID, up.postID)
	if !ok || p == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, -10404, "upload not found")
		return
	}
	delete(s.uploads, r.PathValue("uploadID"))
	fl := &file{id: s.newID(), name: fh.Filename, contentType: fh.Header.Get("Content-Type"), data: data}
	s.filesByID[fl.id] = fl
	p.files = append(p.files, fl)
	s.mu.Unlock()
	writeResult(w, map[string]any{"id": fl.id})
}

// File returns an uploaded file's name and content.
func (s *Server) File(fileID string) (name string, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.filesByID[fileID]
	if f == nil {
		return "", nil, false
	}
	return f.name, append([]byte(nil), f.data...), true
}
