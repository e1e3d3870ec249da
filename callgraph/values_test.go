package callgraph

import "testing"

func TestRelational(t *testing.T) {
	for _, c := range []struct {
		in, a, op string
		ok        bool
	}{
		{"msg->msg_controllen <= 0", "msg->msg_controllen", "<=", true},
		{"len > 0", "len", ">", true},
		{"x >= 0", "x", ">=", true},
		{"n < 0", "n", "<", true},
		{"a << 2", "", "", false},
		{"p->q == 0", "", "", false},
		{"len > max", "", "", false},
	} {
		a, op, _, ok := relational(c.in)
		if ok != c.ok || ok && (a != c.a || op != c.op) {
			t.Errorf("relational(%q) = %q %q %v", c.in, a, op, ok)
		}
	}
}

func TestReadableValue(t *testing.T) {
	for in, want := range map[string]string{
		"0|RAMROD_RX?|RAMROD_TX?": "0 (maybe also RAMROD_RX, RAMROD_TX)",
		"FLAG_A|FLAG_B":           "FLAG_A|FLAG_B",
		"X?":                      "0 (maybe also X)",
	} {
		if got := readableValue(in); got != want {
			t.Errorf("readableValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithMaybe(t *testing.T) {
	for _, c := range []struct{ val, bits, want string }{
		{"0", "A|B", "0|A?|B?"},
		{"A", "A|B", "A?|B?"},
		{"A", "", "A"},
	} {
		if got := withMaybe(c.val, c.bits); got != c.want {
			t.Errorf("withMaybe(%q, %q) = %q, want %q", c.val, c.bits, got, c.want)
		}
	}
}
