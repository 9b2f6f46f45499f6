package api

import (
	"crypto/subtle"
	"net/http"
)

// Dashboard guards the asynq dashboard, which can retry, archive and delete
// work. It asks for HTTP basic auth (the user and password given), and
// refuses every state-changing request (POST, PUT, PATCH, DELETE) that a
// browser sends from another origin: a page elsewhere must not make an
// operator's browser, which holds the dashboard's credentials, press its
// buttons. net/http's CrossOriginProtection decides by Sec-Fetch-Site (only
// same-origin passes), else by Origin against Host; a request from no browser
// (neither header, e.g. curl) passes on its credentials alone.
func Dashboard(user, password string, next http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(basicAuth(user, password, next))
}

func basicAuth(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user))&subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="contiple-worker dashboard", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
