package dooray

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// MaxPageSize is the largest page Dooray! documents; larger sizes are clamped
// here because whether the server clamps or rejects them is unknown.
const MaxPageSize = 100

// Page is one page of a list call.
type Page[T any] struct {
	Items      []T
	TotalCount int
	Page       int // 0-based
	Size       int // the size asked for (Dooray!'s default is 20)
}

// HasNext says whether a further page exists.
func (p Page[T]) HasNext() bool {
	size := p.Size
	if size <= 0 {
		size = 20
	}
	return len(p.Items) > 0 && (p.Page+1)*size < p.TotalCount
}

func setPaging(q url.Values, page, size int) (int, int) {
	page = max(page, 0)
	if size > MaxPageSize {
		size = MaxPageSize
	}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if size > 0 {
		q.Set("size", strconv.Itoa(size))
	}
	return page, size
}

// all walks every page from the first, MaxPageSize at a time. Items shifting
// between pages while walking (a post updated under order=-postUpdatedAt) can be
// seen twice or missed; callers that care dedupe by id and re-run from a cursor.
func all[T any](ctx context.Context, list func(ctx context.Context, page, size int) (Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for page := 0; ; page++ {
			p, err := list(ctx, page, MaxPageSize)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if !p.HasNext() {
				return
			}
		}
	}
}
