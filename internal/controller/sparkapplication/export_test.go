package sparkapplication

// Remembered is how many applications the controller remembers submitting
// (Controller.submitted), for tests.
func (c *Controller) Remembered() int {
	n := 0
	c.submitted.Range(func(any, any) bool { n++; return true })
	return n
}
