package rest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// routes knows which HTTP methods each path of the edge answers, for what the gateway's mux
// does not say: the Allow header of a 405 and of an OPTIONS answer (RFC 9110 §15.5.6, §9.3.7),
// and HEAD wherever GET is served (§9.1). It is read from the service's OpenAPI document,
// which is generated from the same google.api.http annotations the mux is built from, plus the
// document's own two paths.
type routes []route

type route struct {
	path    *regexp.Regexp
	methods []string // upper case, as in the document
}

// pathParam is a template variable ({case_id}): one segment.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

func newRoutes(openapiJSON []byte) (routes, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		return nil, err
	}
	doc.Paths["/openapi.yaml"] = map[string]json.RawMessage{"get": nil}
	doc.Paths["/openapi.json"] = map[string]json.RawMessage{"get": nil}
	var rs routes
	for tmpl, ops := range doc.Paths {
		var expr strings.Builder
		last := 0
		for _, loc := range pathParam.FindAllStringIndex(tmpl, -1) {
			expr.WriteString(regexp.QuoteMeta(tmpl[last:loc[0]]))
			expr.WriteString(`[^/]+`)
			last = loc[1]
		}
		expr.WriteString(regexp.QuoteMeta(tmpl[last:]))
		re, err := regexp.Compile("^" + expr.String() + "$")
		if err != nil {
			return nil, err
		}
		var methods []string
		for m := range ops {
			switch m = strings.ToUpper(m); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				methods = append(methods, m)
			}
		}
		rs = append(rs, route{path: re, methods: methods})
	}
	return rs, nil
}

// allowed returns the methods path answers, HEAD and OPTIONS included, in a fixed order; nil
// for a path the edge does not serve.
func (rs routes) allowed(path string) []string {
	var ms []string
	for _, r := range rs {
		if r.path.MatchString(path) {
			ms = append(ms, r.methods...)
		}
	}
	if len(ms) == 0 {
		return nil
	}
	if slices.Contains(ms, http.MethodGet) {
		ms = append(ms, http.MethodHead)
	}
	ms = append(ms, http.MethodOptions)
	order := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	slices.SortFunc(ms, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return slices.Compact(ms)
}
