package rpm

import (
	"fmt"
	"strings"

	"github.com/distroless-dev/distroless/packages"
)

// maxRichDepth bounds the nesting of a rich dependency.
const maxRichDepth = 32

// parseRich parses an rpm rich (boolean) dependency such as
// "(python3.12-libs if python3.12)" or "(a >= 1.2 or (b and c))" into
// the model's Dep tree: and, or, if, if-else, unless, unless-else, with
// and without, as rpm's rpmrichParse reads them. As in rpm, only and, or
// and with chain ("(a or b or c)"), different operators need their own
// parentheses, else follows only if or unless, and the operands of with
// and without are simple dependencies (or a with chain). Malformed input
// is an error; parseRich never panics.
func parseRich(s string) (packages.Dep, error) {
	p := &richParser{s: s}
	p.space()
	if !p.peek('(') {
		return packages.Dep{}, fmt.Errorf("rich dependency %q does not start with '('", s)
	}
	d, err := p.rich(0)
	if err != nil {
		return packages.Dep{}, fmt.Errorf("rich dependency %q: %w", s, err)
	}
	p.space()
	if p.i != len(p.s) {
		return packages.Dep{}, fmt.Errorf("rich dependency %q: unexpected %q after the closing ')'", s, p.s[p.i:])
	}
	return d, nil
}

type richParser struct {
	s string
	i int
}

func (p *richParser) space() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *richParser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

// word reads the next run of non-space characters, stopping at an
// unbalanced ')' as rpm does, so that "libc.so.6()(64bit))" yields the
// name without the closing parenthesis.
func (p *richParser) word() string {
	start, depth := p.i, 0
	for p.i < len(p.s) && !isSpace(p.s[p.i]) {
		switch p.s[p.i] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return p.s[start:p.i]
			}
			depth--
		}
		p.i++
	}
	return p.s[start:p.i]
}

var richOps = map[string]packages.DepKind{
	"and": packages.DepAnd, "or": packages.DepOr, "if": packages.DepIf, "unless": packages.DepUnless,
	"with": packages.DepWith, "without": packages.DepWithout,
}

// rich parses "(" operand op operand … ")" at p.i.
func (p *richParser) rich(depth int) (packages.Dep, error) {
	if depth >= maxRichDepth {
		return packages.Dep{}, fmt.Errorf("nested more than %d deep", maxRichDepth)
	}
	p.i++ // '('
	first, err := p.operand(depth)
	if err != nil {
		return packages.Dep{}, err
	}
	p.space()
	if p.peek(')') {
		// "(a)" is a single dependency in parentheses.
		p.i++
		return first, nil
	}
	if p.i >= len(p.s) {
		return packages.Dep{}, fmt.Errorf("missing ')'")
	}
	opWord := p.word()
	kind, ok := richOps[opWord]
	if !ok {
		return packages.Dep{}, fmt.Errorf("unknown operator %q", opWord)
	}
	d := packages.Dep{Kind: kind, Args: []packages.Dep{first}}
	for {
		arg, err := p.operand(depth)
		if err != nil {
			return packages.Dep{}, err
		}
		d.Args = append(d.Args, arg)
		p.space()
		if p.peek(')') {
			p.i++
			break
		}
		if p.i >= len(p.s) {
			return packages.Dep{}, fmt.Errorf("missing ')'")
		}
		next := p.word()
		switch {
		case next == "else":
			if kind != packages.DepIf && kind != packages.DepUnless {
				return packages.Dep{}, fmt.Errorf("else after %s (only if and unless take else)", opWord)
			}
			if len(d.Args) != 2 {
				return packages.Dep{}, fmt.Errorf("a second else")
			}
		case richOps[next] != kind || !isKnownOp(next):
			if isKnownOp(next) {
				return packages.Dep{}, fmt.Errorf("cannot chain %s with %s without parentheses", opWord, next)
			}
			return packages.Dep{}, fmt.Errorf("unknown operator %q", next)
		case kind != packages.DepAnd && kind != packages.DepOr && kind != packages.DepWith:
			return packages.Dep{}, fmt.Errorf("%s cannot be chained (only and, or and with can)", opWord)
		}
	}
	if kind == packages.DepWith || kind == packages.DepWithout {
		for _, a := range d.Args {
			if a.Kind != packages.DepAtom && a.Kind != packages.DepWith {
				return packages.Dep{}, fmt.Errorf("the operands of %s must be simple dependencies", opWord)
			}
		}
		if kind == packages.DepWith && len(d.Args) > 2 {
			// The model's with has two operands: fold the chain.
			for len(d.Args) > 2 {
				n := len(d.Args)
				d.Args = append(d.Args[:n-2:n-2], packages.Dep{Kind: packages.DepWith, Args: []packages.Dep{d.Args[n-2], d.Args[n-1]}})
			}
		}
	}
	return d, nil
}

func isKnownOp(w string) bool { _, ok := richOps[w]; return ok }

// operand parses a nested rich dependency or a simple one
// ("name", "name op evr").
func (p *richParser) operand(depth int) (packages.Dep, error) {
	p.space()
	if p.i >= len(p.s) {
		return packages.Dep{}, fmt.Errorf("missing operand")
	}
	if p.peek('(') {
		return p.rich(depth + 1)
	}
	if p.peek(')') {
		return packages.Dep{}, fmt.Errorf("missing operand before ')'")
	}
	name := p.word()
	if name == "" {
		return packages.Dep{}, fmt.Errorf("missing operand")
	}
	if isKnownOp(name) || name == "else" {
		return packages.Dep{}, fmt.Errorf("operator %q where a dependency was expected", name)
	}
	a := packages.Atom{Name: name}
	// An optional relation: the next word when it is an operator.
	save := p.i
	p.space()
	if p.i < len(p.s) && strings.IndexByte("<>=", p.s[p.i]) >= 0 {
		opWord := p.word()
		op, ok := normRelation(opWord)
		if !ok {
			return packages.Dep{}, fmt.Errorf("%s: bad relation %q", name, opWord)
		}
		p.space()
		if p.i >= len(p.s) || p.peek(')') {
			return packages.Dep{}, fmt.Errorf("%s %s: missing version", name, opWord)
		}
		ver := p.word()
		if _, err := ParseEVR(ver); err != nil {
			return packages.Dep{}, fmt.Errorf("%s %s: %v", name, opWord, err)
		}
		a.Op, a.Version = op, ver
	} else {
		p.i = save
	}
	return packages.Dep{Kind: packages.DepAtom, Atom: a}, nil
}

// normRelation spells an rpm relation the model's way.
func normRelation(op string) (string, bool) {
	switch op {
	case "<":
		return "<", true
	case "<=", "=<":
		return "<=", true
	case "=", "==":
		return "=", true
	case ">=", "=>":
		return ">=", true
	case ">":
		return ">", true
	}
	return "", false
}
