package main

import (
	"runtime/debug"
	"testing"
)

func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	setGCPercent(300)
	if got := debug.SetGCPercent(100); got != 300 {
		t.Errorf("without GOGC, -gc-percent 300 left the target at %d", got)
	}
	setGCPercent(0)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("-gc-percent 0 changed the target to %d", got)
	}
	t.Setenv("GOGC", "50")
	setGCPercent(300)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC is set, yet -gc-percent 300 changed the target to %d", got)
	}
}
