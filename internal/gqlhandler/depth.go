package gqlhandler

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeDepthLimit is the extensions.code of an operation nested too deep.
const CodeDepthLimit = "DEPTH_LIMIT_EXCEEDED"

// DepthLimit is a gqlgen extension that rejects, before anything is
// resolved, an operation whose selections nest deeper than Max fields. A
// top-level field is at depth 1; fragments count where they are spread.
// Complexity limits bound how wide a query is; this bounds how deep, which
// is what self-referencing introspection types could otherwise be abused
// for.
type DepthLimit struct {
	// Max is the deepest nesting accepted; it must be positive. GraphiQL's
	// introspection query (graphql-js 16) is 15 deep, so a lower Max keeps
	// the playground from loading the schema.
	Max int
}

var (
	_ graphql.HandlerExtension        = DepthLimit{}
	_ graphql.OperationContextMutator = DepthLimit{}
)

// ExtensionName implements graphql.HandlerExtension.
func (DepthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension.
func (DepthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (d DepthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	w := depthWalker{doc: opCtx.Doc, memo: map[string]int{}, visiting: map[string]bool{}}
	if depth := w.selectionSet(opCtx.Operation.SelectionSet); depth > d.Max {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d", depth, d.Max)
		errcode.Set(err, CodeDepthLimit)
		return err
	}
	return nil
}

// depthWalker measures selection sets. The depth of a named fragment does
// not depend on where it is spread, so it is computed once: a document
// that spreads fragments many times over costs linear time, not exponential.
type depthWalker struct {
	doc      *ast.QueryDocument
	memo     map[string]int
	visiting map[string]bool // guards against cycles, which validation already forbids
}

// selectionSet returns how many fields deep set nests (0 when empty).
func (w *depthWalker) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1 + w.selectionSet(s.SelectionSet)
		case *ast.InlineFragment:
			d = w.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w *depthWalker) fragment(s *ast.FragmentSpread) int {
	if d, ok := w.memo[s.Name]; ok {
		return d
	}
	def := s.Definition
	if def == nil && w.doc != nil {
		def = w.doc.Fragments.ForName(s.Name)
	}
	if def == nil || w.visiting[s.Name] {
		return 0
	}
	w.visiting[s.Name] = true
	d := w.selectionSet(def.SelectionSet)
	delete(w.visiting, s.Name)
	w.memo[s.Name] = d
	return d
}
