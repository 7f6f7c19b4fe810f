package main

import (
	"io"
	"slices"
	"testing"
)

func TestParseFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args     []string
		operands []string
		depth    int
		url      string
	}{
		{[]string{"KEY"}, []string{"KEY"}, 3, "u0"},
		{[]string{"KEY", "--depth", "5"}, []string{"KEY"}, 5, "u0"},
		{[]string{"--url", "u1", "KEY", "--depth", "5"}, []string{"KEY"}, 5, "u1"},
		{[]string{"-depth=2", "A", "--url", "u1", "B"}, []string{"A", "B"}, 2, "u1"},
		{[]string{"--depth", "4", "--", "--url", "KEY"}, []string{"--url", "KEY"}, 4, "u0"},
		{[]string{"A", "--", "-"}, []string{"A", "-"}, 3, "u0"},
		{[]string{"-"}, []string{"-"}, 3, "u0"},
		{nil, nil, 3, "u0"},
	} {
		fs := newFlagSet("t", "t", io.Discard)
		depth := fs.Int("depth", 3, "")
		url := fs.String("url", "u0", "")
		got, err := parseFlagsAnywhere(fs, c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if !slices.Equal(got, c.operands) || *depth != c.depth || *url != c.url {
			t.Errorf("%q: operands %q depth %d url %q, want %q %d %q", c.args, got, *depth, *url, c.operands, c.depth, c.url)
		}
	}
	fs := newFlagSet("t", "t", io.Discard)
	fs.Int("depth", 3, "")
	if _, err := parseFlagsAnywhere(fs, []string{"KEY", "--depth", "x"}); err != errUsage {
		t.Fatalf("bad value after the operand: %v, want errUsage", err)
	}
}
