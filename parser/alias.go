package parser

import (
	"bytes"
	"strconv"
	"strings"
)

// A macro alias is a function-like macro that stands for one call of
// another function, with its arguments mapped:
//
//	#define alloc_ordered_workqueue(fmt, flags, args...) \
//		alloc_workqueue(fmt, WQ_UNBOUND | (flags), 1, ##args)
//	#define class_create(owner, name) \
//		({ static struct lock_class_key __key; __class_create(owner, name, &__key); })
//
// A call of the macro is a call of the target with the template's
// arguments, the macro's parameters replaced by the call's arguments.
// Each alias is one string: "name\x00params\x00target\x00args", params
// joined by ',' (a variadic one ends in "..."), args by \x01.

// defineText returns the rest of a #define line from the parameter list
// at src[j] to the end of the logical line (backslash continuations
// joined), with comments blanked.
func defineText(src []byte, j int) string {
	var b strings.Builder
	for i := j; i < len(src) && b.Len() < 2000; i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			b.WriteByte(' ')
			i++
		case c == '\\' && i+2 < len(src) && src[i+1] == '\r' && src[i+2] == '\n':
			b.WriteByte(' ')
			i += 2
		case c == '\n':
			return b.String()
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			e := bytes.Index(src[i+2:], []byte("*/"))
			if e < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += e + 3
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// macroAlias reads a macro definition (text from its parameter list on)
// as an alias of one call; "" when it is anything else.
func macroAlias(name, text string) string {
	if !strings.HasPrefix(text, "(") {
		return ""
	}
	close := closeAt(text, 0)
	if close < 0 {
		return ""
	}
	var params []string
	if ps := strings.TrimSpace(text[1:close]); ps != "" {
		for i, p := range strings.Split(ps, ",") {
			p = strings.TrimSpace(p)
			v := strings.TrimSpace(strings.TrimSuffix(p, "..."))
			switch {
			case p == "...":
				if i != strings.Count(ps, ",") {
					return ""
				}
				p = "__VA_ARGS__..."
			case strings.HasSuffix(p, "..."):
				if i != strings.Count(ps, ",") || !isIdent(v) {
					return ""
				}
				p = v + "..."
			case !isIdent(p):
				return ""
			}
			params = append(params, p)
		}
	}
	call := aliasCall(strings.TrimSpace(text[close+1:]))
	if call == "" {
		return ""
	}
	open := strings.IndexByte(call, '(')
	target := strings.TrimSpace(call[:open])
	if !isIdent(target) || target == name || strings.HasPrefix(target, "__builtin") {
		return ""
	}
	switch target {
	case "sizeof", "typeof", "__typeof__", "_Generic", "offsetof", "BUILD_BUG_ON", "container_of", "likely", "unlikely":
		return ""
	}
	for _, p := range params {
		if strings.TrimSuffix(p, "...") == target {
			return "" // a call through a parameter
		}
	}
	args := SplitArgs([]byte(call[open:]))
	for i, a := range args {
		if strings.ContainsAny(a, "{};\"") {
			return ""
		}
		if strings.Contains(a, "#") {
			// only `##args` / `##__VA_ARGS__`, the GNU comma elision
			v := strings.TrimSpace(strings.TrimPrefix(a, "##"))
			if !strings.HasPrefix(a, "##") || strings.Contains(v, "#") || !isVariadic(params, v) {
				return ""
			}
			args[i] = v
		}
	}
	return name + "\x00" + strings.Join(params, ",") + "\x00" + target + "\x00" + strings.Join(args, "\x01")
}

func isVariadic(params []string, v string) bool {
	return len(params) > 0 && params[len(params)-1] == v+"..."
}

// aliasCall returns the one call a macro body makes: `f(...)`, in
// parentheses, in `do { f(...); } while (0)`, or as the last statement
// of a statement expression whose other statements only declare
// (`({ static struct lock_class_key __key; f(..., &__key); })`).
func aliasCall(body string) string {
	for {
		body = strings.TrimSpace(body)
		if strings.HasPrefix(body, "(") && closeAt(body, 0) == len(body)-1 {
			inner := strings.TrimSpace(body[1 : len(body)-1])
			if strings.HasPrefix(inner, "{") && strings.HasSuffix(inner, "}") && closeAt(inner, 0) == len(inner)-1 {
				return lastCall(inner[1:len(inner)-1], true)
			}
			body = inner
			continue
		}
		break
	}
	if strings.HasPrefix(body, "do") && len(body) > 2 && !isWordByte(body[2]) {
		rest := strings.TrimSpace(body[2:])
		if strings.HasPrefix(rest, "{") {
			e := closeAt(rest, 0)
			tail := strings.ReplaceAll(rest[e+1:], " ", "")
			if e > 0 && (tail == "while(0)" || tail == "while(0);") {
				return lastCall(rest[1:e], false)
			}
		}
		return ""
	}
	if isCallText(body) {
		return body
	}
	return ""
}

// lastCall reads a statement list whose last statement is a call; before
// it, with decls, only declarations without calls or initializers.
func lastCall(stmts string, decls bool) string {
	var parts []string
	for _, s := range strings.Split(stmts, ";") {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 || !decls && len(parts) > 1 {
		return ""
	}
	for _, s := range parts[:len(parts)-1] {
		if !(strings.HasPrefix(s, "static ") || strings.HasPrefix(s, "struct ")) || strings.ContainsAny(s, "(=") {
			return ""
		}
	}
	if last := parts[len(parts)-1]; isCallText(last) {
		return last
	}
	return ""
}

// isCallText: `ident(...)` and nothing after the closing parenthesis.
func isCallText(s string) bool {
	open := strings.IndexByte(s, '(')
	return open > 0 && isIdent(strings.TrimSpace(s[:open])) && closeAt(s, open) == len(s)-1
}

// closeAt returns the index of the bracket closing the one at s[i]
// (-1 when unbalanced), skipping string and character literals.
func closeAt(s string, i int) int {
	at := -1
	scanCode(s, i, func(j, depth int) bool {
		if depth == 0 && strings.IndexByte(")]}", s[j]) >= 0 {
			at = j
			return false
		}
		return true
	})
	return at
}

// scanCode calls visit with each byte of s from index from on that lies
// outside string and character literals, and the bracket depth after it
// (an opening bracket counts in, a closing one out), until visit returns
// false.
func scanCode[T ~string | ~[]byte](s T, from int, visit func(i, depth int) bool) {
	depth := 0
	var quote byte
	for j := from; j < len(s); j++ {
		c := s[j]
		if quote != 0 {
			if c == '\\' {
				j++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'':
			quote = c
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if !visit(j, depth) {
			return
		}
	}
}

// constValue reads an object-like macro's body as a number: `0x40`,
// `(1U << 6)`, `BIT(6)`, `-22`, `true`; "" for anything else. The value is given
// in decimal.
func constValue(body string) string {
	b := strings.TrimSpace(body)
	for strings.HasPrefix(b, "(") && closeAt(b, 0) == len(b)-1 {
		b = strings.TrimSpace(b[1 : len(b)-1])
	}
	if v, ok := parseNum(b); ok {
		return strconv.FormatInt(v, 10)
	}
	switch b {
	case "true":
		return "1" // #define IN_ATOMIC true
	case "false":
		return "0"
	}
	if strings.HasPrefix(b, "BIT(") && strings.HasSuffix(b, ")") {
		if n, ok := parseNum(b[4 : len(b)-1]); ok && n >= 0 && n < 63 {
			return strconv.FormatInt(1<<n, 10)
		}
	}
	if l, r, ok := strings.Cut(b, "<<"); ok {
		lv, ok1 := parseNum(strings.Trim(strings.TrimSpace(l), "()"))
		rv, ok2 := parseNum(strings.Trim(strings.TrimSpace(r), "()"))
		if ok1 && ok2 && rv >= 0 && rv < 63 && lv >= 0 && lv < 1<<20 {
			return strconv.FormatInt(lv<<rv, 10)
		}
	}
	return ""
}

// parseNum reads a C integer literal with an optional sign and U/L
// suffixes.
func parseNum(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimRight(strings.TrimPrefix(s, "-"), "uUlL")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
