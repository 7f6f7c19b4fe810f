package pubsub

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPublishDelivers(t *testing.T) {
	h := New()
	ch, cancel := h.Subscribe(4)
	defer cancel()
	h.Publish(Message{Offset: 7, Kind: "RunEvent"})
	got := <-ch
	if got.Offset != 7 || got.Kind != "RunEvent" {
		t.Fatalf("got %+v", got)
	}
}

func TestSlowSubscriberDropped(t *testing.T) {
	h := New()
	slow, cancelSlow := h.Subscribe(1)
	defer cancelSlow()
	fast, cancelFast := h.Subscribe(8)
	defer cancelFast()
	for i := int64(1); i <= 3; i++ {
		h.Publish(Message{Offset: i})
	}
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("subscribers = %d, want 1 (slow one dropped)", n)
	}
	if m, ok := <-slow; !ok || m.Offset != 1 {
		t.Fatalf("slow first message = %+v, %v", m, ok)
	}
	if _, ok := <-slow; ok {
		t.Fatal("slow channel should be closed after being dropped")
	}
	for i := int64(1); i <= 3; i++ {
		if m := <-fast; m.Offset != i {
			t.Fatalf("fast got offset %d, want %d", m.Offset, i)
		}
	}
}

func TestCancelTwiceAndClose(t *testing.T) {
	h := New()
	ch, cancel := h.Subscribe(1)
	cancel()
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel should be closed after cancel")
	}
	h.Close()
	ch2, cancel2 := h.Subscribe(1)
	defer cancel2()
	if _, ok := <-ch2; ok {
		t.Fatal("subscribe after close should yield a closed channel")
	}
}
