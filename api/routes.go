package api

import "slices"

// allRoutes is every operation of the API: the first release's table (v1.go),
// then the ticket operations (ops.go), failed work (work.go) and the board.
// Mount serves them and the OpenAPI test checks the document against them.
func allRoutes() []route {
	return slices.Concat(routes, ticketRoutes, workRoutes, boardRoutes)
}
