package memqueue

// The operator's side of the dead-letter list: the same operations as
// "quire deadletters" offers over RabbitMQ. The in-process queue lives only
// inside the process that made it (quire serve, quire demo, tests), so
// these are a Go API, not a command.

// ReplayDeadLetters puts every dead letter for which match reports true
// back into the intake queue as a new first attempt, keeping its kind,
// body and message id, and removes it from the dead-letter list. It
// returns the replayed messages, oldest first. A nil match replays all.
//
// Taking a message off the list and queueing it happen under one lock, so
// nothing is lost or doubled between the two.
func (q *Queue) ReplayDeadLetters(match func(DeadLetter) bool) []DeadLetter {
	q.mu.Lock()
	defer q.mu.Unlock()
	var replayed []DeadLetter
	q.dead = q.filterDeadLocked(match, func(d DeadLetter) {
		replayed = append(replayed, d)
		m := d.Message
		m.Body = append([]byte(nil), m.Body...)
		q.pushLocked(&entry{msg: m, attempt: 1}, false)
		q.published.Add(1)
	})
	return replayed
}

// DiscardDeadLetters removes every dead letter for which match reports
// true (all of them for a nil match) and returns them, oldest first.
func (q *Queue) DiscardDeadLetters(match func(DeadLetter) bool) []DeadLetter {
	q.mu.Lock()
	defer q.mu.Unlock()
	var discarded []DeadLetter
	q.dead = q.filterDeadLocked(match, func(d DeadLetter) { discarded = append(discarded, d) })
	return discarded
}

// filterDeadLocked calls taken with each dead letter match selects and
// returns the others, in order. q.mu is held.
func (q *Queue) filterDeadLocked(match func(DeadLetter) bool, taken func(DeadLetter)) []DeadLetter {
	kept := q.dead[:0:0]
	for _, d := range q.dead {
		if match == nil || match(d) {
			taken(d)
			continue
		}
		kept = append(kept, d)
	}
	return kept
}
