package policy

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/medicbot/medic/remediations"
)

// SchemaID is the $id of the JSON Schema of policy files.
const SchemaID = "https://github.com/medicbot/medic/policies/schema.json"

// durationPattern is the shape of a Go duration such as "10m" or "1h30m".
const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`

// templatePattern recognises a templated parameter value.
const templatePattern = `\{\{`

// JSONSchema returns the JSON Schema (draft 2020-12) of policy files, built
// from the raw types the parser decodes into and, for each step's params,
// from the schemas of the catalog's actions. Editors use it through the
// "# yaml-language-server: $schema=./schema.json" comment; it helps authors
// but the parser remains the judge.
func JSONSchema(catalog remediations.Catalog) ([]byte, error) {
	names := slices.Sorted(maps.Keys(catalog))
	root := typeSchema(reflect.TypeFor[rawFile](), "", names)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "medic policies"

	var perAction []any
	for _, name := range names {
		perAction = append(perAction, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"action": map[string]any{"const": name}}, "required": []string{"action"}},
			"then": map[string]any{"properties": map[string]any{"params": paramsSchema(catalog[name])}},
		})
	}
	step := root["properties"].(map[string]any)["policies"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)["steps"].(map[string]any)["items"].(map[string]any)
	step["allOf"] = perAction

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// typeSchema describes a raw type; tags are the `schema` tag of the field
// holding it.
func typeSchema(t reflect.Type, tags string, actions []string) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := map[string]any{}
	opts := schemaOptions(tags)
	switch {
	case t == reflect.TypeFor[stringList]():
		item := map[string]any{"type": "string"}
		if p, ok := opts["pattern"]; ok {
			item["pattern"] = patterns[p].String()
		}
		s["anyOf"] = []any{item, map[string]any{"type": "array", "items": item}}
		return s
	case t.Kind() == reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			fs := typeSchema(f.Type, f.Tag.Get("schema"), actions)
			if doc := f.Tag.Get("doc"); doc != "" {
				fs["description"] = doc
			}
			props[name] = fs
			if _, ok := schemaOptions(f.Tag.Get("schema"))["required"]; ok {
				required = append(required, name)
			}
		}
		s["type"] = "object"
		s["properties"] = props
		s["additionalProperties"] = false
		if required != nil {
			s["required"] = required
		}
		return s
	case t.Kind() == reflect.Slice:
		s["type"] = "array"
		s["items"] = typeSchema(t.Elem(), "", actions)
		if _, ok := opts["required"]; ok {
			s["minItems"] = 1
		}
		return s
	case t.Kind() == reflect.Map:
		s["type"] = "object"
		if t.Elem().Kind() == reflect.String {
			s["additionalProperties"] = map[string]any{"type": "string"}
		}
		return s
	case t.Kind() == reflect.Int:
		s["type"] = "integer"
		if m, ok := opts["min"]; ok {
			s["minimum"], _ = strconv.Atoi(m)
		}
		if e, ok := opts["enum"]; ok {
			var vals []int
			for _, v := range enums[e] {
				n, _ := strconv.Atoi(v)
				vals = append(vals, n)
			}
			s["enum"] = vals
		}
		return s
	case t.Kind() == reflect.Bool:
		s["type"] = "boolean"
		return s
	}
	s["type"] = "string"
	if e, ok := opts["enum"]; ok {
		if e == "action" {
			s["enum"] = actions
		} else {
			s["enum"] = enums[e]
		}
	}
	if p, ok := opts["pattern"]; ok {
		s["pattern"] = patterns[p].String()
	}
	if f, ok := opts["format"]; ok {
		s["format"] = f
	}
	if _, ok := opts["duration"]; ok {
		s["pattern"] = durationPattern
	}
	return s
}

// schemaOptions splits a `schema` tag: "required;enum=state" ->
// {required: "", enum: state}.
func schemaOptions(tag string) map[string]string {
	out := map[string]string{}
	for _, opt := range strings.Split(tag, ";") {
		if opt == "" {
			continue
		}
		k, v, _ := strings.Cut(opt, "=")
		out[k] = v
	}
	return out
}

// paramsSchema describes an action's params; any value may instead be a
// template, checked when rendered.
func paramsSchema(schema remediations.Schema) map[string]any {
	template := map[string]any{"type": "string", "pattern": templatePattern}
	props := map[string]any{}
	var required []string
	for _, p := range schema.Params {
		var s map[string]any
		switch p.Type {
		case remediations.TypeInt, remediations.TypeNumber:
			s = map[string]any{"type": string(p.Type)}
			if p.Min != nil {
				s["minimum"] = *p.Min
			}
			if p.Max != nil {
				s["maximum"] = *p.Max
			}
		case remediations.TypeBool:
			s = map[string]any{"type": "boolean"}
		case remediations.TypeDuration:
			s = map[string]any{"type": "string", "pattern": durationPattern}
		case remediations.TypeStringList, remediations.TypeCIDRList:
			s = map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
		case remediations.TypeStringMap:
			s = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
		default:
			s = map[string]any{"type": "string"}
			if len(p.Enum) > 0 {
				s["enum"] = p.Enum
			}
		}
		if p.Type != remediations.TypeString || len(p.Enum) > 0 {
			s = map[string]any{"anyOf": []any{s, template}}
		}
		if p.Description != "" {
			s["description"] = p.Description
		}
		if p.Default != nil {
			s["default"] = p.Default
		}
		props[p.Name] = s
		if p.Required {
			required = append(required, p.Name)
		}
	}
	out := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if schema.Description != "" {
		out["description"] = schema.Description
	}
	if required != nil {
		out["required"] = required
	}
	var groups []any
	for _, group := range schema.ExactlyOne {
		var one []any
		for _, name := range group {
			one = append(one, map[string]any{"required": []string{name}})
		}
		groups = append(groups, map[string]any{"oneOf": one})
	}
	if groups != nil {
		out["allOf"] = groups
	}
	return out
}
