//go:build tools

// Package tools pins modules that the code will import, until it does.
package tools

import (
	_ "github.com/chromedp/chromedp"
)
