package server

// SubscribeEvents starts a subscription to this server's event stream (GET
// /v1/event/stream). Every server publishes the events of the entries its
// own FSM applies, so a follower serves the stream without the leader. The
// caller must Close the subscription.
func (s *Server) SubscribeEvents(req EventSubscribeRequest) *EventSubscription {
	return s.fsm.events.subscribe(req)
}
