package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// unknownKeys walks the YAML tree beside the Config type and reports every key
// the type does not have: a misspelt key would otherwise be silently ignored.
func unknownKeys(root *yaml.Node) []Problem {
	if len(root.Content) == 0 {
		return nil
	}
	var ps []Problem
	walkKeys(root.Content[0], reflect.TypeOf(Config{}), "", &ps)
	return ps
}

func walkKeys(n *yaml.Node, t reflect.Type, path string, ps *[]Problem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		if _, custom := reflect.New(t).Interface().(yaml.Unmarshaler); custom {
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				fields[tag] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			if !ok {
				*ps = append(*ps, Problem{Path: join(path, k), Msg: fmt.Sprintf("unknown key (line %d)", n.Content[i].Line)})
				continue
			}
			walkKeys(n.Content[i+1], ft, join(path, k), ps)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), ps)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			walkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), ps)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
