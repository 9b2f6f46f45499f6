package contipleworker_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/contiple/contiple-worker/"

// allowedImports is DESIGN.md's table "Packages and who may import whom":
// adapters are leaves, ticket knows nothing of the others, and nothing imports cmd.
// internal/* are wiring and test helpers, listed with what they may use.
var allowedImports = map[string][]string{
	"cmd/contiple-worker": {"*"},
	"jobs":                {"ticket", "channels", "channels/email", "mailer", "dooray"},
	"ticket":              {"channels", "internal/seal"},
	"channels":            {},
	"channels/email":      {"channels"},
	"mailer":              {},
	"dooray":              {},
	"dooray/dooraytest":   {"dooray"},
	"migrations":          {},
	"api":                 {"ticket", "jobs", "mailer", "dooray"},
	"internal/config":     {"mailer", "internal/oauth"},
	"internal/testenv":    {"migrations"},
	"internal/benchtable": {},
	"internal/smtptest":   {},
	"internal/redisconn":  {},
	"internal/oauth":      {"internal/seal"},
	"internal/seal":       {},
	// The OAuth2 authorization fake: tests and `demo --oauth2` (it imports no testing).
	"internal/oauth/oauthtest": {},
	// The demo is a feature (DESIGN.md): cmd gives it the worker to run.
	// Its fakes (Dooray!, the OAuth2 authorization server) run in the demo too.
	"internal/demo": {"ticket", "channels/email", "dooray", "dooray/dooraytest", "internal/config", "internal/oauth/oauthtest", "migrations"},
}

// Tests may also use the test helpers.
var testOnly = []string{"internal/testenv", "internal/smtptest", "dooray/dooraytest", "internal/oauth/oauthtest"}

func TestImportRules(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Hidden directories (.git, .services with a live PostgreSQL) hold no package.
		if d.IsDir() && path != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			return nil
		}
		allowed, known := allowedImports[pkg]
		if !known {
			t.Errorf("%s: package %s is not in DESIGN.md's table (add it there and here)", path, pkg)
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		isTest := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			target, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), module)
			if !ok || target == pkg {
				continue
			}
			switch {
			case target == "cmd/contiple-worker":
				t.Errorf("%s imports cmd: nothing may", path)
			case slices.Contains(allowed, "*"), slices.Contains(allowed, target):
			case isTest && slices.Contains(testOnly, target):
			case isTest && strings.HasPrefix(target, pkg+"/"):
			default:
				t.Errorf("%s: %s may not import %s (allowed: %v)", path, pkg, target, allowed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
