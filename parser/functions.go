package parser

import (
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// functions builds a Func for every real function definition, at any depth
// (definitions are recovered under ERROR nodes too). A function_definition
// inside another function's body is a one-argument iterator macro
// (`for_each_possible_cpu(cpu) { }`) and is handled there as a loop.
func (x *extractor) functions(root *sitter.Node, fns []*sitter.Node) {
	sort.Slice(fns, func(i, j int) bool { return fns[i].StartByte() < fns[j].StartByte() })
	for _, fn := range fns {
		body := fn.ChildByFieldName("body")
		decl := fn.ChildByFieldName("declarator")
		if body == nil || decl == nil {
			continue
		}
		name, params, ptr, ok := x.funcDeclarator(decl)
		if !ok || (sym.has("parenthesized_declarator", decl) && params == nil) {
			continue
		}
		if p := fn.Parent(); p != nil && !sym.has("translation_unit", p) && !x.realParams(params) {
			// `per_cpu(v, cpu) { ... }` recovered inside a body: a macro
			// call, not a function
			continue
		}
		f := Func{Name: name}
		f.Line, f.Col = pos(fn)
		f.EndLine = int32(fn.EndPoint().Row) + 1
		f.BodyError = body.HasError()
		if t := fn.ChildByFieldName("type"); t != nil {
			f.ReturnType = x.typeName(t)
			if ptr == 0 {
				f.ReturnType = ""
			}
		}
		for i := 0; i < int(fn.ChildCount()); i++ {
			ch := fn.Child(i)
			switch {
			case sym.has("storage_class_specifier", ch):
				if x.text(ch) == "static" {
					f.Static = true
				}
			case sym.has("call_expression", ch):
				// __acquires(x) / __releases(x) / __must_hold(x)
				t := x.text(ch)
				if k := strings.IndexByte(t, '('); k > 0 {
					kind := strings.TrimSpace(t[:k])
					if strings.HasPrefix(kind, "__acquires") || strings.HasPrefix(kind, "__releases") || kind == "__must_hold" {
						f.Annots = append(f.Annots, Annot{Kind: kind, Arg: normSpace([]byte(strings.TrimSuffix(t[k+1:], ")")))})
					}
				}
			}
		}
		if params != nil {
			x.params(params, &f)
		}
		x.buildCFG(&f, body)
		x.file.Funcs = append(x.file.Funcs, f)
	}
}

// funcDeclarator finds the name and parameter list of a function
// declarator; ok is false for declarators that declare no function (the
// one-argument iterator macros parse as `type (ident) { }`).
func (x *extractor) funcDeclarator(d *sitter.Node) (name string, params *sitter.Node, ptr int, ok bool) {
	for i := 0; d != nil && i < 16; i++ {
		switch {
		case sym.has("pointer_declarator", d):
			ptr++
			d = d.ChildByFieldName("declarator")
		case sym.has("function_declarator", d):
			inner := d.ChildByFieldName("declarator")
			if inner == nil {
				return "", nil, 0, false
			}
			if sym.has("identifier", inner) {
				return x.text(inner), d.ChildByFieldName("parameters"), ptr, true
			}
			// function returning a function pointer, or a macro-wrapped name
			n, _ := declName(x, inner)
			return n, d.ChildByFieldName("parameters"), ptr, n != ""
		case sym.has("parenthesized_declarator", d):
			if d.NamedChildCount() == 0 {
				return
			}
			d = d.NamedChild(0)
		case sym.has("array_declarator", d) && d.ChildByFieldName("declarator") != nil &&
			sym.has("function_declarator", d.ChildByFieldName("declarator")):
			// `f(args) __acquires(&a[i].lock)`: the annotation's brackets
			// make the grammar see an array of the function
			d = d.ChildByFieldName("declarator")
		default:
			return
		}
	}
	return
}

func (x *extractor) params(pl *sitter.Node, f *Func) {
	for i := 0; i < int(pl.NamedChildCount()); i++ {
		p := pl.NamedChild(i)
		if !sym.has("parameter_declaration", p) {
			continue
		}
		t := p.ChildByFieldName("type")
		d := p.ChildByFieldName("declarator")
		if t == nil || d == nil {
			continue
		}
		name, ptr := declName(x, d)
		if name != "" {
			l, _ := pos(p)
			f.Params = append(f.Params, Var{Name: name, Type: x.typeName(t), Ptr: ptr, Line: l})
		}
	}
}

// realParams reports whether a parameter list declares parameters the way
// a function definition does: `(void)`, `()`, or every parameter with a
// type and a name. Macro calls recovered as definitions (`per_cpu(v, cpu)`)
// have bare identifiers instead.
func (x *extractor) realParams(pl *sitter.Node) bool {
	if pl == nil {
		return false
	}
	n := int(pl.NamedChildCount())
	if n == 0 {
		return true
	}
	for i := 0; i < n; i++ {
		p := pl.NamedChild(i)
		if sym.has("comment", p) || sym.has("variadic_parameter", p) {
			continue
		}
		if !sym.has("parameter_declaration", p) {
			return false
		}
		if p.ChildByFieldName("declarator") == nil {
			if t := p.ChildByFieldName("type"); n == 1 && t != nil && x.text(t) == "void" {
				continue
			}
			return false
		}
	}
	return true
}
