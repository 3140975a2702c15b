package server

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// publishEvents hands the events of an applied entry to the event broker.
// It never blocks on a subscriber. A failure to derive them loses the
// events, not the write: it is logged.
func (f *fsm) publishEvents(t structs.MessageType, buf []byte, index uint64) {
	ev, err := deriveEvents(f.state, t, buf, index)
	if err != nil {
		f.logger.Error("deriving stream events failed; subscribers miss this entry's events", "index", index, "error", err)
		return
	}
	f.events.publish(ev)
}
