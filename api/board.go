package api

import (
	"net/http"

	"github.com/contiple/contiple-worker/ticket"
)

var boardRoutes = []route{
	{"GET", "/api/v1/board", (*V1).board},
}

// BoardView is the at-a-glance board (seed ②): ALL, and MY when an operator is named.
type BoardView struct {
	All ticket.Board    `json:"all"`
	My  *ticket.MyBoard `json:"my,omitempty"`
}

func (v *V1) board(r *http.Request) (int, any, error) {
	var out BoardView
	var err error
	if out.All, err = v.Store.Board(r.Context()); err != nil {
		return 0, nil, err
	}
	if op := r.URL.Query().Get("operator"); op != "" {
		my, err := v.Store.MyBoard(r.Context(), op)
		if err != nil {
			return 0, nil, err
		}
		out.My = &my
	}
	return http.StatusOK, out, nil
}
